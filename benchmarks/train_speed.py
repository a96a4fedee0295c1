"""Training and evaluation examples per second of every registered model.

Real bAbI batches (joint 20 tasks, the recipe's batch size, memory window,
random noise and XLA setting), the model at its default (paper) size.
Prints a table. Usage:

    python benchmarks/train_speed.py [--data-dir DIR] [--size 1k] [--epochs 6] [--models memn2n,...]
        [--batches N] [--compare-xla] [--compare-loops] [--compare-buckets] [--seeds N]

``--batches N`` times N shuffled batches per timed run (the median of
``--epochs`` runs) in place of whole epochs, for models whose epoch is long.
``--compare-loops`` also trains the recurrent models with the inference loop
(``fori_loop``) in place of the TensorArray loop; ``--compare-buckets`` also
pads every batch to the whole memory window (one bucket). ``--seeds N`` also
trains N copies in one graph (``train --seeds``, :mod:`zoo.seeds`) and gives
the examples per second per copy and the wall time against one copy; and,
for scale, one copy at N times the batch, which does the arithmetic of N
copies in each step: its row's wall time is that of N epochs' worth of
such steps (N copies' work) against one copy's epoch.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import zoo  # noqa: E402
from zoo.__main__ import DEFAULT_DATA  # noqa: E402
from zoo.data.pipeline import BUCKETS, make_dataset  # noqa: E402
from zoo.layers import recurrence  # noqa: E402
from zoo.seeds import build_stack  # noqa: E402
from zoo.training import compile_model, load_babi  # noqa: E402


class EpochTimer(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def measure(name, data_dir, size, epochs, overrides, batches=None, loop="tensor_array", buckets=BUCKETS, seeds=1):
    """Median examples per second over ``epochs`` timed epochs (and 3 evaluations).

    The machines this runs on are shared: one epoch may run at half the speed
    of the next, so the median of several epochs is reported, with the range.
    """
    spec = zoo.get_spec(name)
    recipe = {**spec.recipe, **overrides}
    recurrence.TRAINING_LOOP = loop
    keras.utils.set_random_seed(0)
    train, valid, vocab, _, _ = load_babi(data_dir, size, "all", recipe.get("memory_size", 50))
    config = {**spec.default_config, "vocab_size": len(vocab), "memory_size": recipe.get("memory_size", 50)}
    if seeds > 1:
        model = build_stack(spec, config, recipe, list(range(seeds)))
    else:
        model = compile_model(spec.build(**config), recipe)
    ds = make_dataset(train, recipe["batch_size"], shuffle=True, noise=recipe.get("noise", 0.0),
                      with_supporting=spec.supporting_facts, buckets=buckets)
    examples = len(train["answer"])
    if batches:
        ds = ds.take(batches)
        examples = batches * recipe["batch_size"]
    model.fit(ds, epochs=1, verbose=0)  # compile every bucket shape
    timer = EpochTimer()
    model.fit(ds, epochs=epochs, verbose=0, callbacks=[timer])
    train_rates = sorted(examples / s for s in timer.seconds)
    eval_ds = make_dataset(valid, 256, buckets=buckets)
    if batches:
        eval_ds = eval_ds.take(max(batches // 8, 1))
    n_eval = sum(len(y) for _, y in eval_ds)
    model.evaluate(eval_ds, verbose=0)
    eval_rates = []
    for _ in range(3):
        start = time.perf_counter()
        model.evaluate(eval_ds, verbose=0)
        eval_rates.append(n_eval / (time.perf_counter() - start))
    return len(train["answer"]), train_rates, float(np.median(eval_rates)), recipe


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=DEFAULT_DATA)
    p.add_argument("--size", default="1k")
    p.add_argument("--epochs", type=int, default=6, help="timed epochs (the median is reported)")
    p.add_argument("--models", default=None, help="comma-separated names (default: all registered)")
    p.add_argument("--compare-xla", action="store_true", help="also measure without XLA and steps_per_execution")
    p.add_argument("--batches", type=int, default=None, help="time this many shuffled batches, not whole epochs")
    p.add_argument("--compare-loops", action="store_true",
                   help="also train recurrent models with the fori_loop form (zoo.layers.recurrence)")
    p.add_argument("--compare-buckets", action="store_true", help="also pad every batch to the memory window")
    p.add_argument("--seeds", type=int, default=1, help="also train N copies in one graph (train --seeds N)")
    args = p.parse_args()
    names = args.models.split(",") if args.models else zoo.list_models()
    rows = []
    for name in names:
        variants = [("recipe", {})]
        if args.compare_xla:
            if zoo.get_spec(name).recipe.get("xla_per_shape"):
                variants.append(("no XLA per shape", {"xla_per_shape": False}))
            variants.append(("no XLA, 1 step/call", {"jit_compile": False, "xla_per_shape": False,
                                                     "steps_per_execution": 1}))
        variants = [(label, overrides, {}) for label, overrides in variants]
        if args.compare_loops:
            variants.append(("fori_loop in training", {}, {"loop": "fori"}))
        if args.compare_buckets:
            variants.append(("one bucket (memory window)", {}, {"buckets": (50,)}))
        if args.seeds > 1:
            variants.append((f"{args.seeds} seeds in one graph", {}, {"seeds": args.seeds}))
            batch = zoo.get_spec(name).recipe["batch_size"] * args.seeds
            variants.append((f"one copy at batch {batch} (the arithmetic of {args.seeds} copies)",
                             {"batch_size": batch}, {"work": args.seeds}))
        for label, overrides, options in variants:
            work = options.pop("work", 1)
            n, tr, ev, recipe = measure(name, args.data_dir, args.size, args.epochs, overrides, args.batches,
                                        **options)
            rows.append((name, label, n, recipe["batch_size"],
                         "per shape" if recipe.get("xla_per_shape") else recipe.get("jit_compile"), tr, ev,
                         options.get("seeds", 1), work))
    timed = f"{args.batches} shuffled batches per timed run" if args.batches else "whole epochs"
    print(f"\nbAbI {args.size} joint, train split, {os.cpu_count()} CPU cores, {timed}, median of {args.epochs}")
    print("| model | setting | train examples | batch | XLA | train ex/s (median) | train ex/s (range) | eval ex/s "
          "| copies | ex/s summed over copies | wall time against one copy |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    single = {name: np.median(tr) for name, label, _, _, _, tr, _, _, _ in rows if label == "recipe"}
    for name, label, n, batch, jit, tr, ev, copies, work in rows:
        ratio = work * single[name] / np.median(tr) if name in single else float("nan")
        print(f"| {name} | {label} | {n} | {batch} | {jit} | {np.median(tr):,.0f} | {tr[0]:,.0f}-{tr[-1]:,.0f} "
              f"| {ev:,.0f} | {copies} | {copies * np.median(tr):,.0f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
