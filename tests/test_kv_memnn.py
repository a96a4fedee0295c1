"""KV-MemNN on small synthetic knowledge bases and document sets, and key hashing."""

import numpy as np
import pytest

import keras

from zoo.data.memories import document_memories, kb_memories, stop_ids
from zoo.layers.key_hashing import KeyHashing
from zoo.models.kv_memnn import KVMemNN

PEOPLE = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
CITIES = ["paris", "rome", "oslo", "lima", "cairo", "delhi"]
FIRMS = ["acme", "initech", "globex", "hooli", "umbrella"]
FOODS = ["pasta", "sushi", "tacos", "curry", "salad"]
RELATIONS = [("born in", "where was {} born", CITIES), ("works for", "who does {} work for", FIRMS),
             ("likes", "what does {} like", FOODS)]


def kb_examples(n, seed, people=6):
    """Each question comes with its own random knowledge base: answering needs the memory."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        who = list(rng.choice(PEOPLE, people, replace=False))
        triples = [(p, rel, str(rng.choice(objects))) for p in who for rel, _, objects in RELATIONS]
        s, r, o = triples[rng.integers(len(triples))]
        question = next(q for rel, q, _ in RELATIONS if rel == r).format(s)
        out.append((triples, question, o))
    return out


def doc_examples(n, seed, docs=5):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        who = list(rng.choice(PEOPLE, docs, replace=False))
        facts = {p: (str(rng.choice(CITIES)), str(rng.choice(FIRMS))) for p in who}
        documents = [(p, f"{p} lives in {c} and works at {f}") for p, (c, f) in facts.items()]
        p = who[rng.integers(docs)]
        if rng.random() < 0.5:
            out.append((documents, f"where does {p} live", facts[p][0]))
        else:
            out.append((documents, f"who does {p} work for", facts[p][1]))
    return out


def fit_kv(train, vocab, hops=2, hash_slots=None, stops=(), epochs=40):
    keras.utils.set_random_seed(0)
    model = KVMemNN(vocab_size=len(vocab), dim=32, hops=hops, memory="key_value", encoder="bow",
                    hash_slots=hash_slots, stop_ids=stops)
    model.compile(keras.optimizers.Adam(0.01),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    inputs = {k: train[k] for k in ("keys", "values", "query")}
    model.fit(inputs, train["answer"], batch_size=32, epochs=epochs, verbose=0)
    return model


def accuracy(model, arrays):
    logits = model.predict_on_batch({k: arrays[k] for k in ("keys", "values", "query")})
    return float(np.mean(np.argmax(logits, -1) == arrays["answer"]))


@pytest.fixture(scope="module")
def kb():
    train, vocab = kb_memories(kb_examples(600, seed=0))
    test, _ = kb_memories(kb_examples(200, seed=1), vocab)
    return train, test, vocab


def test_kb_mode_answers_questions_about_unseen_knowledge_bases(kb):
    train, test, vocab = kb
    model = fit_kv(train, vocab)
    # Every test question has its own random KB: guessing the most common
    # object of the right type gets about 1 in 5.
    assert accuracy(model, test) >= 0.9


def test_document_mode_answers_questions_about_unseen_documents():
    train, vocab = document_memories(doc_examples(600, seed=0))
    test, _ = document_memories(doc_examples(200, seed=1), vocab)
    model = fit_kv(train, vocab)
    assert accuracy(model, test) >= 0.9


def test_key_hashing_shrinks_memory_and_keeps_the_answer(kb):
    train, test, vocab = kb
    stops = stop_ids(vocab)
    slots = 8
    memory = train["keys"].shape[1]  # 18 triples
    keys, values, kept = (np.asarray(x) for x in KeyHashing(slots, stops)(test["keys"], test["query"], test["values"]))
    assert keys.shape[1] == slots < memory
    # The triple that answers each question survives hashing.
    holds_answer = (values[:, :, 0] == test["answer"][:, None]) & (kept >= 0)
    has_subject = np.array([np.isin(keys[i, :, 0], test["query"][i]).any() for i in range(len(keys))])
    assert has_subject.all() and holds_answer.any(axis=1).all()
    # Kept slots come first, in their original order.
    for row in kept:
        real = row[row >= 0]
        assert (np.diff(real) > 0).all() and (row[len(real):] == -1).all()
    model = fit_kv(train, vocab, hash_slots=slots, stops=stops)
    assert accuracy(model, test) >= 0.9


def test_key_hashing_caps_at_the_latest_matches_and_pads_small_memories():
    keys = np.array([[[5, 0], [6, 7], [8, 0], [7, 2]]])
    values = np.array([[[1], [2], [3], [4]]])
    k, v, idx = (np.asarray(x) for x in KeyHashing(3, stop_ids=[2])(keys, np.array([[7, 9, 2]]), values))
    np.testing.assert_array_equal(idx, [[1, 3, -1]])
    np.testing.assert_array_equal(k, [[[6, 7], [7, 2], [0, 0]]])
    np.testing.assert_array_equal(v[..., 0], [[2, 4, 0]])
    _, idx = KeyHashing(1)(keys, np.array([[7, 9, 2]]))
    np.testing.assert_array_equal(np.asarray(idx), [[3]])  # the latest of the two matches
    with pytest.raises(ValueError, match="slots"):
        KeyHashing(0)


def test_key_hashing_runs_in_tf_data(kb):
    import tensorflow as tf

    _, test, vocab = kb
    hashing = KeyHashing(8, stop_ids(vocab))
    ds = tf.data.Dataset.from_tensor_slices({k: test[k] for k in ("keys", "values", "query")}).batch(16)
    ds = ds.map(lambda x: dict(zip(("keys", "values", "kept"), hashing(x["keys"], x["query"], x["values"]))))
    batch = next(iter(ds))
    assert tuple(batch["keys"].shape)[:2] == (16, 8)


def test_kv_memnn_rejects_an_unknown_memory_layout():
    with pytest.raises(ValueError, match="memory must be one of .*key_value.*story"):
        KVMemNN(vocab_size=10, memory="graph")


def test_export_names_the_inputs_it_cannot_serve(tmp_path):
    from export.writers import export_model

    model = KVMemNN(vocab_size=10, dim=4, hops=1, memory="key_value")
    with pytest.raises(ValueError, match="story and query.*keys"):
        export_model(model, None, "kv_memnn", None, str(tmp_path))
