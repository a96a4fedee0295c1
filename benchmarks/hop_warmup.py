"""Can W-MemNN learn a task once its hops are shown where to look?

Trains a fresh W-MemNN (the registry's config and recipe: Adam, clipping,
L2) on one bAbI task with a plain training loop: for the first ``--warmup``
epochs each head of hop i is also trained toward the i-th supporting fact
(cross-entropy -log a, averaged over the heads, weight ``--weight``, beside
the answer's), then on answers alone. ``--warmup 0`` is the control: answers
only throughout. Prints, per epoch, training and valid accuracy and how often
each supervised hop's largest weight (heads' mean) is on its fact. A
diagnostic, not a recipe: supporting facts are the strongly supervised
regime, and the paper trains W-MemNN on answers only. Usage:

    python benchmarks/hop_warmup.py --task 16 --size 10k --warmup 8 --epochs 20 --seed 1
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from zoo.__main__ import DEFAULT_DATA  # noqa: E402
from zoo.data.babi import load_split  # noqa: E402


def hop_targets(supporting, hops):
    """The fact each supervised hop is trained toward ([n, hops], -1 where none): the i-th supporting fact."""
    targets = np.full((len(supporting), hops), -1, np.int32)
    k = min(hops, supporting.shape[1])
    targets[:, :k] = supporting[:, :k]
    return targets


def run(train_ex, valid_ex, warmup, epochs, seed, weight=1.0, config=None, learning_rate=None, batch_size=32,
        log=print):
    """Trains and reports; returns the per-epoch rows (dicts).

    ``config`` and ``learning_rate`` override the registry's.
    """
    import keras
    import tensorflow as tf

    from zoo.registry import get_spec
    from zoo.training import make_optimizer, to_arrays

    spec = get_spec("wmemnn")
    keras.utils.set_random_seed(seed)
    train, valid, vocab = to_arrays(train_ex, valid_ex, spec.recipe["memory_size"])
    model = spec.build(**{**(config or {}), "vocab_size": len(vocab)})
    # The hops that have a fact to look for: as many as the task gives supporting facts.
    hops = min(model.get_config()["hops"], train["supporting"].shape[1])
    # The heads' attention as graph tensors (what ``explain`` reads), so that a loss can train them.
    heads = [model._explain_tensors[f"heads_hop_{i + 1}"] for i in range(hops)]
    net = keras.Model(model.inputs, [model.outputs[0]] + heads)
    optimizer = make_optimizer({**spec.recipe, "learning_rate": learning_rate or spec.recipe["learning_rate"]})
    answer_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=spec.recipe["loss_reduction"])
    targets = {"train": hop_targets(train["supporting"], hops), "valid": hop_targets(valid["supporting"], hops)}

    @tf.function
    def step(story, query, answer, target, w):
        with tf.GradientTape() as tape:
            logits, *attention = net({"story": story, "query": query}, training=True)
            loss = answer_loss(answer, logits) + (tf.add_n(net.losses) if net.losses else 0.0)
            for i, a in enumerate(attention):  # a: [batch, heads, slots]
                has = target[:, i] >= 0
                p = tf.gather(a, tf.maximum(target[:, i], 0), axis=2, batch_dims=1)  # [batch, heads]
                nll = tf.reduce_mean(-tf.math.log(p + 1e-8), axis=1)
                loss += w * tf.reduce_sum(tf.where(has, nll, 0.0))
        grads = tape.gradient(loss, net.trainable_variables)
        optimizer.apply_gradients(zip(grads, net.trainable_variables))
        return tf.reduce_sum(tf.cast(tf.argmax(logits, -1, output_type=tf.int32) == answer, tf.float32))

    rng = np.random.default_rng(seed)
    rows = []
    n = len(train["answer"]) // batch_size * batch_size
    for epoch in range(epochs):
        start = time.time()
        w = tf.constant(weight if epoch < warmup else 0.0)
        order = rng.permutation(len(train["answer"]))[:n]
        right = 0.0
        for b in range(0, n, batch_size):
            idx = order[b:b + batch_size]
            right += float(step(train["story"][idx], train["query"][idx], train["answer"][idx],
                                targets["train"][idx], w))
        logits, *attention = net.predict({"story": valid["story"], "query": valid["query"]}, batch_size=200, verbose=0)
        on_fact, mass = [], []
        for i, a in enumerate(attention):
            has = targets["valid"][:, i] >= 0
            mean = a.mean(axis=1)  # the heads' mean, [questions, slots]
            top = np.argmax(mean, axis=-1)
            on = np.take_along_axis(mean, np.maximum(targets["valid"][:, i], 0)[:, None], axis=1)[:, 0]
            on_fact.append(float(np.mean(top[has] == targets["valid"][has, i])) if has.any() else 0.0)
            mass.append(float(on[has].mean()) if has.any() else 0.0)
        row = {"epoch": epoch + 1, "supervised": epoch < warmup, "train": right / max(n, 1),
               "valid": float(np.mean(np.argmax(logits, -1) == valid["answer"])), "on_fact": on_fact,
               "mass": mass, "seconds": time.time() - start}
        rows.append(row)
        log(f"| {row['epoch']} | {'yes' if row['supervised'] else 'no'} | {100 * row['train']:.1f} | "
            f"{100 * row['valid']:.1f} | {' / '.join(f'{100 * f:.0f}' for f in on_fact)} | {row['seconds']:.0f} |")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA)
    parser.add_argument("--size", default="10k", help="1k, 10k or a folder name of the bAbI data (default 10k)")
    parser.add_argument("--task", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=8, help="epochs with the hops supervised (0: answers only)")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--weight", type=float, default=1.0, help="weight of the hops' cross-entropy")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.warmup < 0 or args.epochs < 1:
        parser.error(f"--warmup must be 0 or more and --epochs 1 or more, got {args.warmup} and {args.epochs}")
    try:
        train_ex, _ = load_split(args.data_dir, args.size, [args.task], "train")
        valid_ex, _ = load_split(args.data_dir, args.size, [args.task], "valid")
    except (FileNotFoundError, ValueError) as e:
        parser.error(str(e))
    print(f"wmemnn, bAbI {args.size} task {args.task} alone, seed {args.seed}: hops trained toward the supporting "
          f"facts for {args.warmup} epochs (weight {args.weight}), then answers only; valid split")
    print("| epoch | hops supervised | train acc % | valid acc % | hop i's top on fact i, % (valid) | s |")
    print("|---|---|---|---|---|---|")
    run(train_ex, valid_ex, args.warmup, args.epochs, args.seed, args.weight)


if __name__ == "__main__":
    main()
