"""Working Memory Networks (Pavez, Allende, Allende-Cid, 2018)."""

import keras
from keras import ops

from zoo.layers.masked_gru import MaskedGRU
from zoo.layers.masking import word_mask
from zoo.layers.multi_head_memory_attention import MultiHeadMemoryAttention
from zoo.layers.relational_reasoning import RelationalReasoning
from zoo.layers.sentence_gru import SentenceGRU
from zoo.layers.slot_mask import SlotMask
from zoo.layers.tied_embedding import TiedEmbedding
from zoo.layers.time_words import TimeWords
from zoo.models.base import ZooModel, check_config, model_inputs


@keras.saving.register_keras_serializable(package="zoo")
class WMemNN(ZooModel):
    """W-MemNN: multi-head attention hops fill a working memory; a relational module reasons over it.

    Pavez et al. 2018, "Working Memory Networks: Augmenting Memory Networks
    with a Relational Reasoning Module", in the form of the authors' bAbI
    code:

    - input module: each sentence is the last state of a GRU over its words
      (:class:`SentenceGRU`), its age read as one more word at its end
      (:class:`TimeWords`, ``time_words``); the question is the last state
      u of another GRU, over its own word embedding;
    - attention hops: the query of hop i is f_t(o_{i-1}) with o_0 = u, f_t
      a transition network of two linear layers (units / 2, then units)
      shared by all hops; o_i is the output of hop i's
      :class:`MultiHeadMemoryAttention`; the working memory buffer holds
      o_1 ... o_hops;
    - reasoning module (:class:`RelationalReasoning`): g over every ordered
      pair of buffer items with u, summed; f is ``f_units`` ReLU layers (none
      in the official code) and a linear answer layer without bias.

    L2 of ``l2`` acts on the kernels of the attention heads, the transition
    network, g, f and the answer layer, as in the official code (not on the
    embeddings or the GRUs). ``explain`` gives ``attention_hop_i``
    [batch, memory] (the heads' mean, what ``predict`` shows),
    ``heads_hop_i`` [batch, heads, memory] and the reasoning module's
    inputs ``working_memory`` [batch, hops, units] and ``question``
    [batch, units]. Trained on answers only.

    Args:
        vocab_size: words in the vocabulary (id 0 = padding).
        memory_size: rows of the time-word table (the memory window of the
            data); the model takes any number of sentences.
        dim: word embedding size.
        units: GRU state size, key and hop output size.
        hops: attention hops (items of the working memory).
        heads: attention heads per hop.
        g_units: ReLU layer sizes of g.
        f_units: ReLU layer sizes of f before the answer layer.
        time_words: read each sentence's age as a last word.
        l2: L2 weight (``l2 * sum(w^2)``, Keras's form) of the kernels named above.

    Example:
        >>> m = WMemNN(vocab_size=20, dim=8, units=8, hops=2, heads=2, g_units=(16,))
        >>> import numpy as np
        >>> m({"story": np.ones((1, 3, 4), "int32"), "query": np.ones((1, 4), "int32")}).shape
        TensorShape([1, 20])
    """

    def __init__(self, vocab_size, memory_size=30, dim=30, units=30, hops=4, heads=8, g_units=(128, 128, 128),
                 f_units=(), time_words=True, l2=1e-3, **kwargs):
        check_config(hops=hops)
        if units < 2:
            raise ValueError(f"units must be 2 or more (the transition network halves it), got {units}")
        g_units, f_units = [int(u) for u in g_units], [int(u) for u in f_units]
        config = dict(vocab_size=vocab_size, memory_size=memory_size, dim=dim, units=units, hops=hops, heads=heads,
                      g_units=g_units, f_units=f_units, time_words=time_words, l2=l2)
        kwargs.setdefault("name", "wmemnn")
        reg = keras.regularizers.L2(l2) if l2 else None

        # Layers.
        story_embedding = TiedEmbedding(vocab_size, dim, name="story_embedding")
        query_embedding = TiedEmbedding(vocab_size, dim, name="query_embedding")
        times = TimeWords(memory_size, dim, name="time_words") if time_words else None
        sentences = SentenceGRU(units, name="sentence_encoder")
        question_gru = MaskedGRU(units, name="question_encoder")
        slots = SlotMask(name="slots")
        transition = [keras.layers.Dense(units // 2, kernel_regularizer=reg, name="transition_1"),
                      keras.layers.Dense(units, kernel_regularizer=reg, name="transition_2")]
        attention = [MultiHeadMemoryAttention(heads, units, kernel_regularizer=reg, name=f"attention_{i + 1}")
                     for i in range(hops)]
        reasoning = RelationalReasoning(g_units, kernel_regularizer=reg, name="reasoning")
        f = [keras.layers.Dense(n, activation="relu", kernel_regularizer=reg, name=f"f_{i + 1}")
             for i, n in enumerate(f_units)]
        answer = keras.layers.Dense(vocab_size, use_bias=False, kernel_regularizer=reg, name="answer")

        def step(x):
            for layer in transition:
                x = layer(x)
            return x

        # Graph.
        story, query = model_inputs()
        words = story_embedding(story)
        words, valid_words = times(words, story) if times else (words, word_mask(story))
        memories = sentences(words, valid_words)
        u = question_gru(query_embedding(query), word_mask(query))
        valid = slots(story)
        buffer, inner, q = [], {}, step(u)
        for i, hop in enumerate(attention):
            o, a = hop(memories, q, valid)
            buffer.append(o)
            inner[f"attention_hop_{i + 1}"] = ops.mean(a, axis=1)
            inner[f"heads_hop_{i + 1}"] = a
            q = step(o)
        working_memory = ops.stack(buffer, axis=1)
        x = reasoning(working_memory, u)
        for layer in f:
            x = layer(x)
        logits = answer(x)
        inner.update(working_memory=working_memory, question=u)
        super().__init__(inputs={"story": story, "query": query}, outputs=logits, config=config,
                         explain_tensors=inner, **kwargs)
