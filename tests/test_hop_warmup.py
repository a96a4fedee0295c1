"""benchmarks/hop_warmup.py: W-MemNN's hops trained toward the supporting facts, then answers only."""

import numpy as np

from benchmarks.hop_warmup import hop_targets, run
from zoo.data.babi import Example
from zoo.registry import get_spec

TINY = {k: v for k, v in get_spec("wmemnn").tiny_config.items() if k != "vocab_size"}  # the data sets the vocabulary


def _examples(n, seed):
    """Three-sentence stories whose answer is the last word of sentence 1 (the one supporting fact)."""
    rng = np.random.default_rng(seed)
    words = [f"w{i}" for i in range(6)]
    out = []
    for _ in range(n):
        story = tuple(("x", str(rng.choice(words))) for _ in range(3))
        out.append(Example(story=story, query=("q",), answer=story[1][1], supporting=(1,)))
    return out


def test_hop_targets_take_the_ith_fact_and_mark_the_rest():
    supporting = np.array([[4, 2, -1], [0, -1, -1]])
    assert hop_targets(supporting, 2).tolist() == [[4, 2], [0, -1]]
    assert hop_targets(supporting[:, :1], 3).tolist() == [[4, -1, -1], [0, -1, -1]]


def test_warmup_moves_the_attention_onto_the_fact_and_the_control_does_not():
    train, valid = _examples(320, 0), _examples(64, 1)
    kwargs = dict(epochs=4, seed=0, weight=5.0, config=TINY, learning_rate=0.01, log=lambda _: None)
    warm = run(train, valid, warmup=4, **kwargs)
    control = run(train, valid, warmup=0, **kwargs)
    assert [r["supervised"] for r in warm] == [True] * 4 and not any(r["supervised"] for r in control)
    # One supporting fact: one supervised hop. Near-uniform attention at the start puts about 1/3 on it.
    assert len(warm[-1]["mass"]) == 1
    assert warm[-1]["mass"][0] > 0.8 > control[-1]["mass"][0]


def test_runs_without_l2():
    rows = run(_examples(64, 0), _examples(32, 1), warmup=1, epochs=1, seed=0, config={**TINY, "l2": 0},
               log=lambda _: None)
    assert len(rows) == 1 and 0.0 <= rows[0]["valid"] <= 1.0 and rows[0]["supervised"]
