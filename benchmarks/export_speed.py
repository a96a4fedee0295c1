"""File size and latency of every exported format, for every model with shipped weights.

Median latency over repeated calls at batch 1 and batch 32, on bAbI valid
questions (joint 20 tasks, memory padded to the batch's bucket). Prints a
table. Usage:

    python benchmarks/export_speed.py [--data-dir DIR] [--repeats 200] [--models memn2n]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import zoo  # noqa: E402
from export import export_model  # noqa: E402
from export.runners import RUNNERS  # noqa: E402
from zoo.__main__ import DEFAULT_DATA  # noqa: E402
from zoo.data.babi import load_split  # noqa: E402
from zoo.data.pipeline import iterate_batches, vectorize  # noqa: E402
from zoo.weights import read_metadata, resolve  # noqa: E402


def median_ms(fn, repeats):
    fn()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def size_of(path):
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default=DEFAULT_DATA)
    p.add_argument("--repeats", type=int, default=200)
    p.add_argument("--models", default=None)
    args = p.parse_args()
    rows = []
    names = args.models.split(",") if args.models else zoo.list_models()
    for name in names:
        for tag in zoo.list_weights(name):
            model = zoo.load(name, weights=tag, compile=False)
            folder = read_metadata(resolve(name, tag))["data"]["folder"]
            examples, _ = load_split(args.data_dir, folder, "all", "valid")
            arrays = vectorize(examples, model.vocab, model.get_config()["memory_size"])
            batch32 = next(iterate_batches(arrays, batch_size=32, shuffle=True, seed=1))[0]
            batch1 = {k: v[:1] for k, v in batch32.items()}
            with tempfile.TemporaryDirectory() as out:
                paths = export_model(model, model.vocab, name, tag, out, log=lambda m: None)
                runners = {"keras predict_on_batch": (lambda b: model.predict_on_batch(b), None)}
                for kind, path in paths.items():
                    runner = RUNNERS[kind](path)
                    runners[kind] = (lambda b, r=runner: r(b["story"], b["query"]), size_of(path))
                keras_size = os.path.getsize(os.path.join(resolve(name, tag), "model.weights.h5"))
                for label, (fn, size) in runners.items():
                    ms1 = median_ms(lambda: fn(batch1), args.repeats)
                    ms32 = median_ms(lambda: fn(batch32), max(args.repeats // 4, 10))
                    rows.append((name, tag, label, size if size is not None else keras_size, ms1, ms32))
    print(f"\nmedian latency, {os.cpu_count()} CPU cores; batch 1 and 32 of bAbI valid questions")
    print("| model | weights | runtime | file size | batch 1 ms | batch 32 ms | batch 1 speed-up vs Keras |")
    print("|---|---|---|---|---|---|---|")
    base = {}
    for name, tag, label, size, ms1, ms32 in rows:
        base.setdefault((name, tag), ms1)
        print(f"| {name} | {tag} | {label} | {size / 1024:.0f} KiB | {ms1:.3f} | {ms32:.3f} | "
              f"{base[(name, tag)] / ms1:.1f}x |")


if __name__ == "__main__":
    main()
