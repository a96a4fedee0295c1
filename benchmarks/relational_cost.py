"""What relational reasoning costs as stories grow: W-MemNN's working memory against a Relation Network's pairs.

W-MemNN's reasoning module (:class:`zoo.layers.relational_reasoning.RelationalReasoning`)
runs g over the hops^2 ordered pairs of its working memory (16 for 4 hops),
whatever the number of facts; a Relation Network (Santoro et al. 2017) runs
the same g over every pair of facts, n^2. For n facts from 10 to 50, prints
the examples/s of W-MemNN's whole training step (its default size) and of
the reasoning module alone, forward and gradient, over the working memory
and over all the facts. The data are random ids of bAbI's shape (a batch of
the recipe's size, sentences of 8 words): the cost does not depend on the
words. Usage:

    python benchmarks/relational_cost.py [--facts 10,20,30,40,50] [--repeats 20]
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402
from zoo.layers.relational_reasoning import RelationalReasoning  # noqa: E402
from zoo.training import compile_model  # noqa: E402
from step_profile import median_ms  # noqa: E402  (benchmarks/, this script's folder)


def reasoning_step(layer, items, question):
    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(items)
            loss = tf.reduce_sum(layer(items, question))
        return tape.gradient(loss, layer.trainable_variables + [items])

    return lambda: [g.numpy() for g in step()]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--facts", default="10,20,30,40,50")
    p.add_argument("--repeats", type=int, default=20)
    args = p.parse_args()
    spec = zoo.get_spec("wmemnn")
    config, batch = spec.default_config, spec.recipe["batch_size"]
    rng = np.random.default_rng(0)
    rows = []
    for n in (int(f) for f in args.facts.split(",")):
        model = spec.build(**{**config, "memory_size": n})
        compile_model(model, spec.recipe)
        x = {"story": rng.integers(1, config["vocab_size"], (batch, n, 8)).astype("int32"),
             "query": rng.integers(1, config["vocab_size"], (batch, 5)).astype("int32")}
        y = rng.integers(1, config["vocab_size"], batch).astype("int32")
        whole = median_ms(lambda: model.train_on_batch(x, y), args.repeats) / 1000
        units, hops = config["units"], config["hops"]
        layer = RelationalReasoning(config["g_units"])
        q = tf.constant(rng.normal(size=(batch, units)).astype("float32"))
        buffer = tf.constant(rng.normal(size=(batch, hops, units)).astype("float32"))
        facts = tf.constant(rng.normal(size=(batch, n, units)).astype("float32"))
        wm = median_ms(reasoning_step(layer, buffer, q), args.repeats) / 1000
        rn = median_ms(reasoning_step(layer, facts, q), args.repeats) / 1000
        rows.append((n, whole, hops ** 2, wm, n * n, rn))
    print(f"\nbatch {batch}, {os.cpu_count()} CPU cores, median of {args.repeats}; reasoning = g "
          f"{'x'.join(map(str, config['g_units']))} forward and gradient")
    print("| facts | W-MemNN train ex/s | W-MemNN pairs | its reasoning ex/s | Relation Network pairs "
          "| RN reasoning ex/s |")
    print("|---|---|---|---|---|---|")
    for n, whole, wp, wm, rp, rn in rows:
        print(f"| {n} | {batch / whole:,.0f} | {wp} | {batch / wm:,.0f} | {rp} | {batch / rn:,.0f} |")


if __name__ == "__main__":
    main()
