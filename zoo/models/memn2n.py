"""End-To-End Memory Networks (Sukhbaatar, Szlam, Weston, Fergus, 2015)."""

import keras

from zoo.layers.bag_of_words import BagOfWords
from zoo.layers.hop_gate import HopGate
from zoo.layers.memory_read import MemoryRead
from zoo.layers.position_encoding import PositionEncoding
from zoo.layers.temporal_encoding import TemporalEncoding
from zoo.layers.tied_embedding import TiedEmbedding
from zoo.models.base import ZooModel, check_config, model_inputs

ENCODERS = {"bow": BagOfWords, "position": PositionEncoding,
            "position_centered": lambda name: PositionEncoding(variant="centered", name=name)}
TYING = ("adjacent", "layerwise")
GATE_TYING = ("global", "hop")


def _memn2n_graph(vocab_size, memory_size, dim, hops, encoder, temporal, tying, attend_empty, gates=None):
    """MemN2N's layers and functional graph; ``gates`` (one per hop) replace u + o.

    Returns ``(inputs, logits, inner)`` with the attention (and gate values)
    of each hop in ``inner``.
    """
    # Layers. Adjacent tying: embeddings E_0..E_K with A^k = E_{k-1},
    # C^k = E_k, B = E_0, W^T = E_K. Layer-wise: one A, one C, B, W, H.
    n_emb = hops + 1 if tying == "adjacent" else 2
    embeddings = [TiedEmbedding(vocab_size, dim, name=f"embedding_{i}") for i in range(n_emb)]
    temporals = [TemporalEncoding(memory_size, dim, name=f"temporal_{i}") for i in range(n_emb)] if temporal else None
    encode = ENCODERS[encoder](name="sentence_encoder")
    reads = [MemoryRead(window=memory_size if attend_empty else None, name=f"read_{k + 1}") for k in range(hops)]
    if tying == "adjacent":
        a_idx, c_idx = list(range(hops)), list(range(1, hops + 1))
        question_embedding = embeddings[0]
        hop_map = None
    else:
        a_idx, c_idx = [0] * hops, [1] * hops
        question_embedding = TiedEmbedding(vocab_size, dim, name="question_embedding")
        hop_map = keras.layers.Dense(dim, use_bias=False, name="hop_map",
                                     kernel_initializer=keras.initializers.RandomNormal(stddev=0.1))
        answer = keras.layers.Dense(vocab_size, use_bias=False, name="answer",
                                    kernel_initializer=keras.initializers.RandomNormal(stddev=0.1))

    # Graph.
    story, query = model_inputs()

    def memory(i):
        m = encode(embeddings[i](story), story)
        return temporals[i](m, story) if temporal else m

    memories = {i: memory(i) for i in sorted(set(a_idx + c_idx))}
    u = encode(question_embedding(query), query)
    inner = {}
    for k in range(hops):
        o, p = reads[k](u, memories[a_idx[k]], memories[c_idx[k]], story)
        inner[f"attention_hop_{k + 1}"] = p
        if hop_map is not None:
            u = hop_map(u)
        if gates is None:
            u = keras.layers.Add(name=f"update_{k + 1}")([u, o])
        else:
            u, t = gates[k](u, o)
            inner[f"gate_hop_{k + 1}"] = t
    logits = embeddings[-1](u, reverse=True) if tying == "adjacent" else answer(u)
    return {"story": story, "query": query}, logits, inner


@keras.saving.register_keras_serializable(package="zoo")
class MemN2N(ZooModel):
    """MemN2N: soft attention over memory, K hops, trained end to end.

    Per hop k (Eq. 1-2): p = softmax(u^T m_i), o = sum_i p_i c_i, with
    m_i = A^k x_i + T_A^k(i) and c_i = C^k x_i + T_C^k(i); the first state is
    u^1 = B q. Weight tying (Sec. 2.2): ``adjacent`` sets A^{k+1} = C^k,
    B = A^1, W^T = C^K and u^{k+1} = u^k + o^k; ``layerwise`` shares A and C
    across hops and sets u^{k+1} = H u^k + o^k. The answer is
    softmax(W u^{K+1}) over the vocabulary (Eq. 3).

    Args:
        vocab_size: words in the vocabulary (id 0 = padding).
        memory_size: rows of the temporal tables (the memory window).
        dim: embedding size d.
        hops: number of hops K.
        encoder: ``"position"`` (PE, the paper's formula), ``"position_centered"``
            (PE as in the authors' code) or ``"bow"``.
        temporal: add temporal encoding (TE).
        tying: ``"adjacent"`` or ``"layerwise"``.
        attend_empty: the attention runs over all ``memory_size`` slots,
            the empty ones scoring 0, as in the authors' code
            (:class:`MemoryRead` ``window``); otherwise over the sentences
            only.

    Example:
        >>> m = MemN2N(vocab_size=20, dim=8, hops=2)
        >>> import numpy as np
        >>> m({"story": np.ones((1, 3, 4), "int32"), "query": np.ones((1, 4), "int32")}).shape
        TensorShape([1, 20])
    """

    def __init__(self, vocab_size, memory_size=50, dim=50, hops=3, encoder="position",
                 temporal=True, tying="adjacent", attend_empty=False, **kwargs):
        check_config(hops, encoder=(encoder, ENCODERS), tying=(tying, TYING))
        config = dict(vocab_size=vocab_size, memory_size=memory_size, dim=dim, hops=hops,
                      encoder=encoder, temporal=temporal, tying=tying, attend_empty=attend_empty)
        kwargs.setdefault("name", "memn2n")
        inputs, logits, attention = _memn2n_graph(**config)
        super().__init__(inputs=inputs, outputs=logits, config=config, explain_tensors=attention, **kwargs)


@keras.saving.register_keras_serializable(package="zoo")
class GatedMemN2N(ZooModel):
    """GMemN2N: MemN2N whose hops are joined by highway gates.

    Liu and Perez 2017, Sec. 3: u^{k+1} = o^k * T^k(u^k) + u^k * (1 - T^k(u^k))
    with T^k(u) = sigmoid(W_T^k u + b_T^k) (:class:`HopGate`), everything else
    as :class:`MemN2N`. ``gate_tying="global"`` shares W_T, b_T across hops,
    ``"hop"`` gives each hop its own (the paper's two schemes).

    Args:
        gate_tying: ``"global"`` or ``"hop"``; the rest as :class:`MemN2N`.

    Example:
        >>> m = GatedMemN2N(vocab_size=20, dim=8, hops=2)
        >>> import numpy as np
        >>> m({"story": np.ones((1, 3, 4), "int32"), "query": np.ones((1, 4), "int32")}).shape
        TensorShape([1, 20])
    """

    def __init__(self, vocab_size, memory_size=50, dim=50, hops=3, encoder="position",
                 temporal=True, tying="adjacent", gate_tying="global", attend_empty=False, **kwargs):
        check_config(hops, encoder=(encoder, ENCODERS), tying=(tying, TYING), gate_tying=(gate_tying, GATE_TYING))
        config = dict(vocab_size=vocab_size, memory_size=memory_size, dim=dim, hops=hops,
                      encoder=encoder, temporal=temporal, tying=tying, attend_empty=attend_empty)
        kwargs.setdefault("name", "gated_memn2n")
        if gate_tying == "global":
            gates = [HopGate(dim, name="gate")] * hops
        else:
            gates = [HopGate(dim, name=f"gate_{k + 1}") for k in range(hops)]
        inputs, logits, inner = _memn2n_graph(**config, gates=gates)
        super().__init__(inputs=inputs, outputs=logits, config={**config, "gate_tying": gate_tying},
                         explain_tensors=inner, **kwargs)
