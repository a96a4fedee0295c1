"""Recurrent Entity Networks (Henaff, Weston, Szlam, Bordes, LeCun, 2017)."""

import keras
from keras import ops

from zoo.layers.dynamic_memory import DynamicMemory, prelu
from zoo.layers.positional_mask import PositionalMask
from zoo.layers.slot_mask import SlotMask
from zoo.layers.tied_embedding import TiedEmbedding
from zoo.models.base import ZooModel, model_inputs


@keras.saving.register_keras_serializable(package="zoo")
class EntNetOutput(keras.layers.Layer):
    """The EntNet output module: p_j = softmax(q^T h_j), u = sum_j p_j h_j, y = R phi(q + H u).

    Henaff et al. 2017, Sec. 2.3 (Eq. 6-8); phi is a PReLU with one slope,
    initialised to 1.

    Args:
        vocab_size: answer words.
        dim: size of q and of the memory blocks.
        stddev: standard deviation of the Gaussian initialisation.

    Call arguments:
        query: [batch, dim] the encoded question.
        memory: [batch, blocks, dim].

    Returns:
        ``(logits, p)``: [batch, vocab_size] and [batch, blocks].

    Example:
        >>> y, p = EntNetOutput(7, 4)(ops.ones((2, 4)), ops.ones((2, 3, 4)))
        >>> tuple(y.shape), tuple(p.shape)
        ((2, 7), (2, 3))
    """

    def __init__(self, vocab_size, dim, stddev=0.1, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.dim = dim
        self.stddev = stddev

    def build(self, query_shape=None, memory_shape=None):
        init = keras.initializers.RandomNormal(stddev=self.stddev)
        self.H = self.add_weight(name="H", shape=(self.dim, self.dim), initializer=init)
        self.R = self.add_weight(name="R", shape=(self.dim, self.vocab_size), initializer=init)
        self.slope = self.add_weight(name="slope", shape=(), initializer="ones")

    def call(self, query, memory):
        p = ops.softmax(ops.sum(memory * ops.expand_dims(query, 1), -1), axis=-1)  # [batch, blocks]
        u = ops.sum(memory * ops.expand_dims(p, -1), axis=1)
        return ops.matmul(prelu(query + ops.matmul(u, self.H), self.slope), self.R), p

    def compute_output_shape(self, query_shape, memory_shape=None):
        return (query_shape[0], self.vocab_size), (query_shape[0], memory_shape[1])

    def get_config(self):
        return {**super().get_config(), "vocab_size": self.vocab_size, "dim": self.dim, "stddev": self.stddev}


@keras.saving.register_keras_serializable(package="zoo")
class EntNet(ZooModel):
    """EntNet: a memory of N blocks, each keyed, rewritten by every sentence of the story in order.

    Henaff et al. 2017, "Tracking the World State with Recurrent Entity
    Networks": the sentences and the question are encoded with learned
    multiplicative positional masks, one for each (:class:`PositionalMask`);
    the dynamic memory (:class:`DynamicMemory`) reads the story sentence by
    sentence; the output module (:class:`EntNetOutput`) attends over the
    blocks with the question. ``explain`` gives the gates at every sentence
    (``gates`` [batch, memory, blocks]: which block took which fact), the
    final blocks (``memory`` [batch, blocks, dim]) and the output attention
    (``output_attention`` [batch, blocks]). Trained on answers only.

    Args:
        vocab_size: words in the vocabulary (id 0 = padding).
        memory_size: kept for the registry's config (the sentences the data
            keeps); the model takes any number of sentences.
        dim: embedding size, and size of each block.
        blocks: number of memory blocks N (ignored with ``key_ids``).
        max_words: positions of the positional masks (longer sentences
            share the last one).
        key_ids: ``None`` for free keys, or word ids whose embeddings are
            the keys (one block per id; key tying to entities).
        stddev: standard deviation of the Gaussian initialisation (0.1).

    Example:
        >>> m = EntNet(vocab_size=20, dim=8, blocks=3)
        >>> import numpy as np
        >>> m({"story": np.ones((1, 3, 4), "int32"), "query": np.ones((1, 4), "int32")}).shape
        TensorShape([1, 20])
    """

    def __init__(self, vocab_size, memory_size=70, dim=100, blocks=20, max_words=20, key_ids=None, stddev=0.1,
                 **kwargs):
        if blocks < 1:
            raise ValueError(f"blocks must be 1 or more, got {blocks}")
        if max_words < 1:
            raise ValueError(f"max_words must be 1 or more, got {max_words}")
        if key_ids is not None:
            key_ids = [int(i) for i in key_ids]
            bad = [i for i in key_ids if not 0 < i < vocab_size]
            if bad or not key_ids:
                raise ValueError(f"key_ids must be word ids in [1, {vocab_size}), got {key_ids}")
            blocks = len(key_ids)
        config = dict(vocab_size=vocab_size, memory_size=memory_size, dim=dim, blocks=blocks, max_words=max_words,
                      key_ids=key_ids, stddev=stddev)
        kwargs.setdefault("name", "entnet")

        # Layers.
        embedding = TiedEmbedding(vocab_size, dim, stddev=stddev, name="embedding")
        story_mask = PositionalMask(max_words, dim, name="story_encoder")
        query_mask = PositionalMask(max_words, dim, name="query_encoder")
        slots = SlotMask(name="slots")
        memory = DynamicMemory(blocks, dim, stddev=stddev, tied_keys=key_ids is not None, name="dynamic_memory")
        output = EntNetOutput(vocab_size, dim, stddev=stddev, name="output")

        # Graph.
        story, query = model_inputs()
        sentences = story_mask(embedding(story), story)
        keys = None
        if key_ids is not None:  # [batch, blocks] ids, so that the keys stay a function of the embedding
            keys = embedding(ops.zeros_like(query[:, :1]) + ops.convert_to_tensor([key_ids], "int32"))
        h, gates = memory(sentences, slots(story), keys)
        logits, p = output(query_mask(embedding(query), query), h)
        super().__init__(inputs={"story": story, "query": query}, outputs=logits, config=config,
                         explain_tensors={"gates": gates, "memory": h, "output_attention": p}, **kwargs)
