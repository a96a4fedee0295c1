"""Recurrent Entity Networks (Henaff, Weston, Szlam, Bordes, LeCun, 2017)."""

import keras

from zoo.layers.constant_ids import ConstantIds
from zoo.layers.dynamic_memory import DynamicMemory
from zoo.layers.entnet_output import EntNetOutput
from zoo.layers.positional_mask import PositionalMask
from zoo.layers.slot_mask import SlotMask
from zoo.layers.tied_embedding import TiedEmbedding
from zoo.models.base import ZooModel, model_inputs


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
        keys = None if key_ids is None else embedding(ConstantIds(key_ids, name="key_ids")(query))
        h, gates = memory(sentences, slots(story), keys)
        logits, p = output(query_mask(embedding(query), query), h)
        super().__init__(inputs={"story": story, "query": query}, outputs=logits, config=config,
                         explain_tensors={"gates": gates, "memory": h, "output_attention": p}, **kwargs)
