"""Memory Networks (Weston, Chopra, Bordes, 2015), strongly supervised, as in the bAbI experiments."""

import keras
from keras import ops

from zoo.layers.hard_memory_pick import ChosenFacts, HardMemoryPick, gather_slot
from zoo.layers.masking import slot_mask
from zoo.layers.supporting_fact_score import NEG, SupportingFactScore
from zoo.layers.tied_embedding import TiedEmbedding
from zoo.models.base import ZooModel, check_config, model_inputs
from zoo.models.memn2n import ENCODERS

FACT_ORDERS = ("given", "any")


@keras.saving.register_keras_serializable(package="zoo")
class MemNN(ZooModel):
    """MemNN: memory M and modules I, G, O, R, trained on supporting facts.

    Weston, Chopra, Bordes 2015 (Sec. 3) in the bAbI setting of Weston et al.
    2015 ("Towards AI-Complete Question Answering"):

    - I: bag-of-words features of each sentence and of the question.
    - G: sentence i is written to memory slot i (the ``story`` input).
    - O: ``hops`` supporting facts, one after the other, each the argmax of
      s_O([x, m_o1, ...], m_i) = U_O Phi_x([x, m_o1, ...]) . U_O Phi_y(m_i)
      (:class:`SupportingFactScore`, with write-time features) over the
      memories and a NULL slot that stops the search. Phi_x puts question
      words and chosen-fact words in separate feature blocks, so U_O Phi_x is
      the sum of two embeddings (``o_query``, ``o_fact``); ``o_candidate`` is
      U_O Phi_y.
    - R: the answer word argmax_w s_R([x, m_o1, ...], w), with its own U_R
      (``r_query``, ``r_fact_k``, ``r_answer``). The fact of each hop has its
      own feature block (``r_fact_k``): with one shared block R could not
      tell the later of two chosen facts (bAbI 2 and 11 answer from it).

    Training (strong supervision, Eq. 6-8) is a margin ranking loss: at each
    hop the true supporting fact must outscore every other memory by
    ``margin``, with the true facts (not the chosen ones) fed to the next
    hop, and the true answer must outscore every other word. ``model.fit``
    drives it when the inputs carry ``supporting`` [batch, k] (slot indices,
    -1 = none; ``zoo.data.pipeline.make_dataset(with_supporting=True)``);
    without it the compiled loss on the answer logits is used. Inference is
    hard argmax; :meth:`explain` gives the chosen facts per hop.

    Args:
        vocab_size: words in the vocabulary (id 0 = padding).
        memory_size: rows of the write-time table.
        dim: embedding size of U_O and U_R.
        hops: supporting facts k looked up (bAbI task 3 needs 3).
        margin: the ranking margin gamma.
        encoder: sentence features: ``"bow"`` (the paper's bag of words) or
            a position encoding (``"position"``, ``"position_centered"``),
            which gives word order as the n-gram features of Weston et al.'s
            extended MemNN do.
        nonlinear: add a ReLU layer to R's input, r + relu(W r) (the
            "nonlinearity" extension): a linear R cannot compare a question
            word with a fact word, as yes/no questions need.
        hidden_units: with ``nonlinear``, the width of that layer; ``None``
            keeps it at ``dim`` as above, a number H gives r + V relu(W r)
            with W of H rows.
        write_time: how O sees write time (:class:`SupportingFactScore`):
            ``"table"``, a vector per age and distance, or ``"ordinal"``.
        r_order: which chosen fact goes into which of R's blocks: ``"pick"``,
            the fact of hop k into block k, or ``"time"``, the latest chosen
            fact into block 1, the one before into block 2, and so on (with
            ``fact_order="any"`` the hops find facts in any order, so only
            ``"time"`` tells R which came last, as lists (bAbI 8) need).
        o_nonlinear: a residual ReLU layer on each side of O's score,
            s_O = (u + relu(W u)) . (m + relu(V m)): a bilinear score cannot
            tie the question's form to both a fact's relation word and the
            role of a place in it, as inverse relations (bAbI 4) need.
        fact_order: ``"given"``: hop k must find the k-th supporting fact as
            the data lists it (the paper); ``"any"``: any supporting fact not
            yet found counts at each hop, the best-scoring one is fed on
            (for data whose facts are not listed in reasoning order).

    Example:
        >>> m = MemNN(vocab_size=20, dim=8)
        >>> import numpy as np
        >>> m({"story": np.ones((1, 3, 4), "int32"), "query": np.ones((1, 4), "int32")}).shape
        TensorShape([1, 20])
    """

    def __init__(self, vocab_size, memory_size=50, dim=50, hops=2, margin=0.1, encoder="bow", nonlinear=False,
                 fact_order="given", hidden_units=None, write_time="table", r_order="pick",
                 o_nonlinear=False, **kwargs):
        check_config(hops, encoder=(encoder, ENCODERS), fact_order=(fact_order, FACT_ORDERS),
                     write_time=(write_time, SupportingFactScore.TIME), r_order=(r_order, ChosenFacts.ORDERS))
        config = dict(vocab_size=vocab_size, memory_size=memory_size, dim=dim, hops=hops, margin=margin,
                      encoder=encoder, nonlinear=nonlinear, fact_order=fact_order)
        config.update(hidden_units=hidden_units, write_time=write_time, r_order=r_order, o_nonlinear=o_nonlinear)
        kwargs.setdefault("name", "memnn")

        # Layers.
        parts = {name: TiedEmbedding(vocab_size, dim, name=name)
                 for name in ("o_query", "o_fact", "o_candidate", "r_query", "r_answer")}
        parts["r_facts"] = [TiedEmbedding(vocab_size, dim, name=f"r_fact_{k + 1}") for k in range(hops)]
        parts["encode"] = ENCODERS[encoder](name="sentence_encoder")
        parts["r_hidden"] = []
        if nonlinear:
            parts["r_hidden"].append(keras.layers.Dense(hidden_units or dim, activation="relu", name="r_hidden"))
        if nonlinear and hidden_units is not None:
            parts["r_hidden"].append(keras.layers.Dense(dim, use_bias=False, name="r_hidden_out"))
        parts["o_hidden"] = None
        if o_nonlinear:
            parts["o_hidden"] = (keras.layers.Dense(dim, activation="relu", name="o_state_hidden"),
                                 keras.layers.Dense(dim, activation="relu", name="o_candidate_hidden"))
        parts["scores"] = [SupportingFactScore(memory_size, dim, relative=k > 0, time=write_time, name=f"score_{k + 1}")
                           for k in range(hops)]
        pick = HardMemoryPick(name="pick")
        parts["chosen"] = ChosenFacts(r_order, name="chosen_facts")

        # Graph.
        story, query = model_inputs()
        u, r, candidates, facts_o, facts_r = _features(parts, story, query)
        inner, previous, picks = {}, None, []
        for k, score in enumerate(parts["scores"]):
            state = _o_state(parts, u)
            s = score(state, candidates, story, previous) if k else score(state, candidates, story)
            previous, attention, fact_o = pick(s, facts_o)
            u = u + fact_o
            picks.append(previous)
            inner[f"supporting_fact_hop_{k + 1}"] = previous
            inner[f"attention_hop_{k + 1}"] = attention
        logits = _answer(parts, parts["chosen"](r, ops.stack(picks, axis=1), *facts_r))
        super().__init__(inputs={"story": story, "query": query}, outputs=logits, config=config,
                         explain_tensors=inner, **kwargs)
        object.__setattr__(self, "_parts", parts)

    def call(self, inputs, training=None, mask=None):
        # The supporting facts are a training target, not a model input.
        if isinstance(inputs, dict) and "supporting" in inputs:
            inputs = {"story": inputs["story"], "query": inputs["query"]}
        return super().call(inputs, training=training, mask=mask)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        if isinstance(x, dict) and "supporting" in x:
            return ops.mean(self.ranking_loss(x["story"], x["query"], x["supporting"], y))
        return super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)

    def ranking_loss(self, story, query, supporting, answer):
        """Margin ranking loss per example over supporting facts and answer (Eq. 6-8)."""
        parts, margin = self._parts, self._zoo_config["margin"]
        u, r, candidates, facts_o, facts_r = _features(parts, story, query)
        slots = ops.shape(candidates)[1]
        in_use = slot_mask(story)
        valid = ops.concatenate([in_use, ops.ones_like(in_use[:, :1])], axis=1)  # the slots and NULL
        supporting = ops.cast(supporting, "int32")
        previous = -ops.ones_like(supporting[:, 0])
        any_order = self._zoo_config["fact_order"] == "any"
        if any_order:
            # [batch, slots + 1]: the supporting facts not yet found (-1 entries land on NULL and are dropped).
            facts = ops.where(supporting < 0, slots, supporting)
            remaining = ops.minimum(ops.sum(ops.one_hot(facts, slots + 1), axis=1), 1.0)
            remaining = remaining * ops.concatenate([ops.ones_like(in_use), ops.zeros_like(in_use[:, :1])], axis=1)
        loss, picks = 0.0, []
        for k, score in enumerate(parts["scores"]):
            state = _o_state(parts, u)
            s = score(state, candidates, story, previous) if k else score(state, candidates, story)
            negatives = valid
            if not any_order:
                target = supporting[:, k] if k < supporting.shape[1] else -ops.ones_like(previous)
                target = ops.where(target < 0, slots, target)  # no more facts: the NULL slot
            else:
                best = ops.argmax(ops.where(remaining > 0, ops.stop_gradient(s), NEG * 10), axis=-1)
                target = ops.cast(ops.where(ops.max(remaining, axis=-1) > 0, best, slots), "int32")
                negatives = valid * (1.0 - remaining)  # the other facts still to find are no negatives
                remaining = remaining * (1.0 - ops.one_hot(target, slots + 1))
            loss = loss + _margin(s, target, negatives, margin)
            u = u + gather_slot(facts_o, target)
            previous = ops.where(target >= slots, -1, target)
            picks.append(previous)
        logits = _answer(parts, parts["chosen"](r, ops.stack(picks, axis=1), *facts_r))
        words = ops.cast(ops.arange(ops.shape(logits)[1]) > 0, "float32")  # every word but padding
        return loss + _margin(logits, ops.cast(answer, "int32"), ops.expand_dims(words, 0), margin)


def _features(parts, story, query):
    encode = parts["encode"]
    u = encode(parts["o_query"](query), query)
    r = encode(parts["r_query"](query), query)
    candidates = encode(parts["o_candidate"](story), story)
    if parts["o_hidden"] is not None:
        candidates = candidates + parts["o_hidden"][1](candidates)
    facts_o = encode(parts["o_fact"](story), story)
    facts_r = [encode(embed(story), story) for embed in parts["r_facts"]]
    return u, r, candidates, facts_o, facts_r


def _o_state(parts, u):
    """O's side of the score; with ``o_nonlinear``, u + relu(W u) (and the candidates likewise)."""
    return u if parts["o_hidden"] is None else u + parts["o_hidden"][0](u)


def _answer(parts, r):
    if parts["r_hidden"]:
        # Residual: the linear path stays open for the answers that need no
        # comparison, and a dead ReLU cannot cut the answer off.
        h = r
        for layer in parts["r_hidden"]:
            h = layer(h)
        r = r + h
    return parts["r_answer"](r, reverse=True)


def _margin(scores, target, valid, margin):
    """sum over i != target of max(0, margin - s_target + s_i), per example."""
    best = ops.take_along_axis(scores, ops.expand_dims(target, -1), axis=1)
    others = 1.0 - ops.one_hot(target, ops.shape(scores)[1])
    return ops.sum(ops.relu(margin - best + scores) * others * valid, axis=-1)
