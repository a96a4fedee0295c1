"""Where a training step spends its time: each layer's forward and backward pass, timed on its own.

For one real bAbI batch of a given memory size (a length bucket), prints the
median time of the model's whole training step (``train_on_batch``) and of
every call of every layer with weights (forward and gradient, on the
inputs that layer sees in that batch, in a ``tf.function``). Usage:

    python benchmarks/step_profile.py dmn_plus [--size 10k] [--slots 10] [--batch 100] [--repeats 30]
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import zoo  # noqa: E402
from zoo.__main__ import DEFAULT_DATA  # noqa: E402
from zoo.data.pipeline import iterate_batches  # noqa: E402
from zoo.training import compile_model, load_babi  # noqa: E402


def median_ms(fn, repeats):
    fn()  # trace
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def layer_step(layer, args, kwargs):
    """A tf.function: the layer's outputs summed, and their gradient for its weights and float inputs."""
    floats = [a for a in args if a is not None and a.dtype.is_floating]

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(floats)
            out = layer(*args, **kwargs, training=True)
            loss = tf.add_n([tf.reduce_sum(o) for o in tf.nest.flatten(out)])
        return tape.gradient(loss, layer.trainable_variables + floats)

    return lambda: [tf.convert_to_tensor(g).numpy() for g in step() if g is not None]


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name", choices=zoo.list_models())
    p.add_argument("--data-dir", default=DEFAULT_DATA)
    p.add_argument("--size", default="10k")
    p.add_argument("--slots", type=int, default=10, help="the batch's memory size (a length bucket)")
    p.add_argument("--batch", type=int, default=None, help="batch size (default: the recipe's)")
    p.add_argument("--repeats", type=int, default=30)
    args = p.parse_args()
    spec = zoo.get_spec(args.name)
    batch_size = args.batch or spec.recipe["batch_size"]
    train, _, vocab, _, _ = load_babi(args.data_dir, args.size, "all", spec.recipe.get("memory_size", 50))
    batches = iterate_batches(train, batch_size, shuffle=True, with_supporting=spec.supporting_facts)
    inputs, answers = next((x, y) for x, y in batches if x["story"].shape[1] == args.slots and len(y) == batch_size)
    model = spec.build(**{**spec.default_config, "vocab_size": len(vocab)})
    compile_model(model, spec.recipe)
    total = median_ms(lambda: model.train_on_batch(inputs, answers), args.repeats)
    plain = {"story": inputs["story"], "query": inputs["query"]}
    rows = []
    for layer in model.layers:
        if not layer.trainable_weights:
            continue
        for i, node in enumerate(layer._inbound_nodes):
            args_in = list(node.arguments.args)
            symbolic = [a for a in args_in if isinstance(a, keras.KerasTensor)]
            computed = iter(tf.nest.flatten(keras.Model(model.input, symbolic)(plain, training=True)))
            values = [tf.convert_to_tensor(next(computed)) if isinstance(a, keras.KerasTensor) else a for a in args_in]
            kwargs = {k: v for k, v in node.arguments.kwargs.items() if k != "training"}
            rows.append((f"{layer.name}" + (f" (call {i + 1})" if len(layer._inbound_nodes) > 1 else ""),
                         type(layer).__name__, median_ms(layer_step(layer, values, kwargs), args.repeats)))
    parts = sum(ms for _, _, ms in rows)
    print(f"\n{args.name}, bAbI {args.size} train batch of {batch_size} questions with {args.slots} sentences "
          f"x {inputs['story'].shape[2]} words; {os.cpu_count()} CPU cores; median of {args.repeats}")
    print("| layer | class | forward + backward ms | share of the layers |")
    print("|---|---|---|---|")
    for name, cls, ms in rows:
        print(f"| {name} | {cls} | {ms:.2f} | {100 * ms / parts:.0f}% |")
    print(f"| sum of the layers | | {parts:.2f} | |")
    print(f"| whole training step (train_on_batch) | | {total:.2f} | |")


if __name__ == "__main__":
    main()
