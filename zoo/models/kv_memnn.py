"""Key-Value Memory Networks (Miller, Fisch, Dodge, Karimi, Bordes, Weston, 2016)."""

import keras

from zoo.layers.key_hashing import KeyHashing
from zoo.layers.key_value_read import KeyValueRead
from zoo.layers.temporal_encoding import TemporalEncoding
from zoo.layers.tied_embedding import TiedEmbedding
from zoo.models.base import ZooModel, check_config, model_inputs
from zoo.models.memn2n import ENCODERS

MEMORIES = ("story", "key_value")


@keras.saving.register_keras_serializable(package="zoo")
class KVMemNN(ZooModel):
    """KV-MemNN: memories are (key, value) pairs; address by key, read the value.

    Miller et al. 2016, Sec. 3: q_1 = A Phi_X(x); per hop j,
    p_h = softmax(q_j . A Phi_K(k_h)), o = sum_h p_h V Phi_V(v_h),
    q_{j+1} = R_j (q_j + o) (:class:`KeyValueRead`); the answer scores are
    q_{H+1} . B Phi_Y(y) over every word. The question and the keys share A,
    so that addressing compares like with like; values have their own
    embedding V, so a key and its value may be the same text seen two ways.
    Key hashing (:class:`KeyHashing`, ``hash_slots``) pre-selects the
    memories that share a non-stop word with the question.

    Two input layouts (``memory``):

    - ``"story"``: inputs ``story`` [batch, memory, words] and ``query``, as
      every zoo model; each bAbI sentence is both key (embedded with A) and
      value (embedded with V), each with its temporal encoding.
    - ``"key_value"``: inputs ``keys`` [batch, memory, key words],
      ``values`` [batch, memory, value words] and ``query``, built by
      :mod:`zoo.data.memories` from knowledge-base triples (key = subject and
      relation, value = object) or documents (key = title, value = content).

    Args:
        vocab_size: words in the vocabulary (id 0 = padding).
        memory_size: rows of the temporal tables.
        dim: embedding size.
        hops: number of hops H.
        encoder: sentence encoder of keys, values and question (see
            :class:`zoo.models.memn2n.MemN2N`).
        temporal: temporal encoding of keys and values (``"story"`` only).
        memory: ``"story"`` or ``"key_value"``.
        hash_slots: keep at most this many memories by key hashing (None: all).
        stop_ids: word ids key hashing ignores.

    Example:
        >>> m = KVMemNN(vocab_size=20, dim=8, hops=2)
        >>> import numpy as np
        >>> m({"story": np.ones((1, 3, 4), "int32"), "query": np.ones((1, 4), "int32")}).shape
        TensorShape([1, 20])
    """

    def __init__(self, vocab_size, memory_size=50, dim=50, hops=3, encoder="position_centered", temporal=True,
                 memory="story", hash_slots=None, stop_ids=(), **kwargs):
        check_config(hops, memory=(memory, MEMORIES), encoder=(encoder, ENCODERS))
        config = dict(vocab_size=vocab_size, memory_size=memory_size, dim=dim, hops=hops, encoder=encoder,
                      temporal=temporal, memory=memory, hash_slots=hash_slots, stop_ids=list(stop_ids))
        kwargs.setdefault("name", "kv_memnn")
        temporal = temporal and memory == "story"

        # Layers.
        embed = TiedEmbedding(vocab_size, dim, name="embedding")  # A: question and keys
        embed_value = TiedEmbedding(vocab_size, dim, name="value_embedding")  # V
        embed_answer = TiedEmbedding(vocab_size, dim, name="answer_embedding")  # B
        encode = ENCODERS[encoder](name="sentence_encoder")
        if temporal:
            key_time = TemporalEncoding(memory_size, dim, name="key_temporal")
            value_time = TemporalEncoding(memory_size, dim, name="value_temporal")
        reads = [KeyValueRead(dim, name=f"read_{j + 1}") for j in range(hops)]
        hashing = KeyHashing(hash_slots, stop_ids, name="key_hashing") if hash_slots else None

        # Graph.
        if memory == "story":
            story, query = model_inputs()
            inputs = {"story": story, "query": query}
            key_ids = value_ids = story
            if hashing is not None:
                key_ids, kept = hashing(story, query)
                value_ids = key_ids
        else:
            query = keras.Input(shape=(None,), dtype="int32", name="query")
            keys = keras.Input(shape=(None, None), dtype="int32", name="keys")
            values = keras.Input(shape=(None, None), dtype="int32", name="values")
            inputs = {"keys": keys, "values": values, "query": query}
            key_ids, value_ids = keys, values
            if hashing is not None:
                key_ids, value_ids, kept = hashing(keys, query, values)
        k = encode(embed(key_ids), key_ids)
        v = encode(embed_value(value_ids), value_ids)
        if temporal:
            k, v = key_time(k, key_ids), value_time(v, key_ids)
        q = encode(embed(query), query)
        inner = {}
        for j in range(hops):
            q, p = reads[j](q, k, v, key_ids)
            inner[f"attention_hop_{j + 1}"] = p
        if hashing is not None:
            inner["kept_slots"] = kept
        logits = embed_answer(q, reverse=True)
        super().__init__(inputs=inputs, outputs=logits, config=config, explain_tensors=inner, **kwargs)
