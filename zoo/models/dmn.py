"""Dynamic Memory Networks: DMN (Kumar et al., 2016) and DMN+ (Xiong, Merity, Socher, 2016)."""

import keras
from keras import ops

from zoo.layers.episodic_memory import GATE_NORMS, READINGS, EpisodicMemory
from zoo.layers.masked_gru import MaskedGRU
from zoo.layers.masking import word_mask
from zoo.layers.position_encoding import PositionEncoding
from zoo.layers.slot_mask import SlotMask
from zoo.layers.story_reader import StoryReader
from zoo.layers.tied_embedding import TiedEmbedding
from zoo.models.base import ZooModel, check_config, model_inputs


def _explain_gates(gates, passes):
    return {f"gate_pass_{i + 1}": gates[:, i] for i in range(passes)}


def gate_loss(gates, supporting, valid, normalized=False):
    """Gate supervision (Kumar et al. 2016, Sec. 3.1): the gates of pass i
    should pick the i-th supporting fact. With gates each on its own, the
    binary cross-entropy over the facts in use, summed over facts; with gates
    normalized over the facts (``normalized``, a softmax), the cross-entropy
    -log g_target. Summed over passes, per example. Passes beyond an
    example's facts (and facts that fell out of the memory, -1) add nothing.

    Args:
        gates: [batch, passes, T] in (0, 1).
        supporting: [batch, k] slot indices, -1 padded.
        valid: [batch, T] 1 for the facts in use.
        normalized: the gates of a pass sum to 1 over the facts.
    """
    passes, slots = gates.shape[1], ops.shape(gates)[2]
    k = supporting.shape[1]
    supporting = ops.cast(supporting, "int32")
    total = 0.0
    for i in range(min(passes, k)):
        target_slot = supporting[:, i]
        target = ops.one_hot(ops.maximum(target_slot, 0), slots)  # [batch, T]
        has = ops.cast(target_slot >= 0, gates.dtype)
        g = ops.clip(gates[:, i], 1e-7, 1.0 - 1e-7)
        if normalized:
            term = -ops.log(ops.sum(target * g, axis=-1))
        else:
            term = -ops.sum((target * ops.log(g) + (1.0 - target) * ops.log(1.0 - g)) * valid, axis=-1)
        total = total + term * has
    return total


@keras.saving.register_keras_serializable(package="zoo")
class DMN(ZooModel):
    """DMN: a GRU reads the story word by word; an episodic memory passes over its facts.

    Kumar et al. 2016, "Ask Me Anything: Dynamic Memory Networks for Natural
    Language Processing":

    - input module (Sec. 2.1): one GRU over all the words of the story; the
      facts are its states at the sentence ends (:class:`StoryReader`);
    - question module (Sec. 2.2): a GRU over the question with the same word
      embedding; q is its last state;
    - episodic memory (Sec. 2.3, :class:`EpisodicMemory` ``form="dmn"``):
      ``passes`` gated passes, m^0 = q; ``reading="stacked"`` reads each pass
      over the previous pass's states;
    - answer module (Sec. 2.4): a GRU started at a_0 = m, one step for the
      one-word answers of bAbI, a_1 = GRU([y_0; q], a_0) with
      y_0 = softmax(W^(a) a_0), logits W^(a) a_1.

    Gate supervision (Sec. 3.1): when the training inputs carry
    ``supporting`` [batch, k] (``make_dataset(..., with_supporting=True)``),
    ``gate_loss_weight`` times :func:`gate_loss` is added to the answer loss.
    ``explain`` gives ``gate_pass_i`` [batch, memory] for every pass.

    Args:
        vocab_size: words in the vocabulary (id 0 = padding).
        memory_size: kept for the registry's config (the memory window of
            the data); the model takes any number of sentences.
        dim: embedding and hidden size.
        passes: passes of the episodic memory.
        reading: ``"episodes"`` or ``"stacked"``.
        gate_loss_weight: weight of the gate supervision loss (0 = answers
            only).
        dropout: dropout rate on the facts and on the final memory.
        gate_norm: ``"sigmoid"``, each gate on its own (Eq. 11), supervised
            by a binary cross-entropy per fact; or ``"softmax"``, the gates of
            a pass normalized over the facts, supervised by the cross-entropy
            of the supporting fact (see :class:`EpisodicMemory`).

    Example:
        >>> m = DMN(vocab_size=20, dim=8, passes=2)
        >>> import numpy as np
        >>> m({"story": np.ones((1, 3, 4), "int32"), "query": np.ones((1, 4), "int32")}).shape
        TensorShape([1, 20])
    """

    def __init__(self, vocab_size, memory_size=50, dim=80, passes=3, reading="episodes", gate_loss_weight=1.0,
                 dropout=0.0, gate_norm="sigmoid", **kwargs):
        check_config(passes=passes, reading=(reading, READINGS), gate_norm=(gate_norm, GATE_NORMS))
        config = dict(vocab_size=vocab_size, memory_size=memory_size, dim=dim, passes=passes, reading=reading,
                      gate_loss_weight=gate_loss_weight, dropout=dropout, gate_norm=gate_norm)
        kwargs.setdefault("name", "dmn")

        # Layers.
        embedding = TiedEmbedding(vocab_size, dim, stddev=1.0, name="embedding")
        reader = StoryReader(dim, name="input_module")
        question_gru = MaskedGRU(dim, name="question_module")
        slots = SlotMask(name="slots")
        memory = EpisodicMemory(dim, passes, form="dmn", reading=reading, gate_norm=gate_norm,
                                name="episodic_memory")
        answer_gru = MaskedGRU(dim, name="answer_gru")
        answer = keras.layers.Dense(vocab_size, name="answer")
        drop_facts = keras.layers.Dropout(dropout, name="fact_dropout")
        drop_memory = keras.layers.Dropout(dropout, name="memory_dropout")

        # Graph.
        story, query = model_inputs()
        valid = slots(story)
        facts = drop_facts(reader(embedding(story), story))
        q = question_gru(embedding(query), word_mask(query))
        m, gates = memory(facts, q, valid)
        m = drop_memory(m)
        y0 = ops.softmax(answer(m), axis=-1)
        a1 = answer_gru(ops.expand_dims(ops.concatenate([y0, q], -1), 1), initial_state=m)
        logits = answer(a1)
        inputs = {"story": story, "query": query}
        super().__init__(inputs=inputs, outputs=logits, config=config,
                         explain_tensors=_explain_gates(gates, passes), **kwargs)
        object.__setattr__(self, "_with_gates", keras.Model(inputs, [logits, gates, valid]))

    def call(self, inputs, training=None, mask=None):
        # The supporting facts are a training target, not a model input.
        if isinstance(inputs, dict) and "supporting" in inputs:
            x = {"story": inputs["story"], "query": inputs["query"]}
            if training and self._zoo_config["gate_loss_weight"]:
                # One forward pass gives both; compute_loss picks the gate term up.
                logits, term = self._answer_and_gate_loss(x, inputs["supporting"])
                object.__setattr__(self, "_pending_gate_loss", (inputs["supporting"], term))
                return logits
            inputs = x
        return super().call(inputs, training=training, mask=mask)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        loss = super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
        pending = getattr(self, "_pending_gate_loss", None)
        object.__setattr__(self, "_pending_gate_loss", None)
        if not (training and isinstance(x, dict) and "supporting" in x and self._zoo_config["gate_loss_weight"]):
            return loss
        if pending is None or pending[0] is not x["supporting"]:  # y_pred came from elsewhere
            pending = (None, self._answer_and_gate_loss(x, x["supporting"])[1])
        return loss + pending[1]

    def _answer_and_gate_loss(self, x, supporting):
        logits, gates, valid = self._with_gates({"story": x["story"], "query": x["query"]}, training=True)
        normalized = self._zoo_config["gate_norm"] == "softmax"
        return logits, self._zoo_config["gate_loss_weight"] * ops.sum(gate_loss(gates, supporting, valid, normalized))


@keras.saving.register_keras_serializable(package="zoo")
class DMNPlus(ZooModel):
    """DMN+: position-encoded sentences, an input fusion layer and attention-GRU passes.

    Xiong, Merity, Socher 2016, "Dynamic Memory Networks for Visual and
    Textual Question Answering", Sec. 3:

    - input module (Sec. 3.1): each sentence is the position encoding of
      its words, f_i = sum_j l_j * w_j (:class:`PositionEncoding`, the
      formula of the paper), and a bidirectional GRU over the sentences (the
      input fusion layer) gives the facts, forward and backward states
      summed;
    - question module: a GRU over the question words, same embedding;
    - episodic memory (:class:`EpisodicMemory` ``form="dmn_plus"``):
      softmax attention gates, an :class:`AttentionGRU` per pass, untied
      ReLU memory updates, m^0 = q;
    - answer: logits W [m; q] + b over the vocabulary (one-word answers).

    Dropout acts on the facts and on the final memory. ``explain`` gives
    ``gate_pass_i`` [batch, memory] for every pass. Trained on answers only.

    Args:
        vocab_size: words in the vocabulary (id 0 = padding).
        memory_size: kept for the registry's config; the model takes any
            number of sentences.
        dim: embedding and hidden size (80 in the paper's bAbI runs).
        passes: passes of the episodic memory.
        dropout: dropout rate.

    Example:
        >>> m = DMNPlus(vocab_size=20, dim=8, passes=2)
        >>> import numpy as np
        >>> m({"story": np.ones((1, 3, 4), "int32"), "query": np.ones((1, 4), "int32")}).shape
        TensorShape([1, 20])
    """

    def __init__(self, vocab_size, memory_size=50, dim=80, passes=3, dropout=0.1, **kwargs):
        check_config(passes=passes)
        config = dict(vocab_size=vocab_size, memory_size=memory_size, dim=dim, passes=passes, dropout=dropout)
        kwargs.setdefault("name", "dmn_plus")

        # Layers.
        embedding = TiedEmbedding(vocab_size, dim, stddev=1.0, name="embedding")
        encode = PositionEncoding(name="sentence_encoder")
        fusion = MaskedGRU(dim, direction="bidirectional", merge="sum", return_sequences=True, name="input_fusion")
        question_gru = MaskedGRU(dim, name="question_module")
        slots = SlotMask(name="slots")
        memory = EpisodicMemory(dim, passes, form="dmn_plus", name="episodic_memory")
        answer = keras.layers.Dense(vocab_size, name="answer")
        drop_facts = keras.layers.Dropout(dropout, name="fact_dropout")
        drop_memory = keras.layers.Dropout(dropout, name="memory_dropout")

        # Graph.
        story, query = model_inputs()
        valid = slots(story)
        facts = drop_facts(fusion(encode(embedding(story), story), valid))
        q = question_gru(embedding(query), word_mask(query))
        m, gates = memory(facts, q, valid)
        logits = answer(ops.concatenate([drop_memory(m), q], -1))
        super().__init__(inputs={"story": story, "query": query}, outputs=logits, config=config,
                         explain_tensors=_explain_gates(gates, passes), **kwargs)
