"""Where a model's hops look, against the supporting facts of one bAbI task.

For the first N questions of a split: the answer accuracy, and per hop how
often its largest attention weight falls on the first, second, ... supporting
fact (in the data's order), and the accuracy apart for the questions whose
hop i tops on supporting fact i for every fact the hops reach (the
gate-supervised DMN's target) and for the others. Prints a table. Usage:

    python benchmarks/attention_check.py gated_memn2n --weights babi-10k --task 19 [--n 300] [--split valid]
"""

import argparse
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

import zoo  # noqa: E402
from zoo.__main__ import DEFAULT_DATA  # noqa: E402
from zoo.data.babi import load_split  # noqa: E402
from zoo.weights import trained_folder  # noqa: E402


def tally(pairs, memory_size):
    """Counts over (example, ``model.answer`` result) pairs.

    Returns ``counts[hop, i]`` (questions whose hop ``hop``, from 1, has its
    largest weight on supporting fact ``i``), the answers right, ``by_found``
    {True: [questions, right], False: [...]} (True: hop i tops on supporting
    fact i for every fact the hops reach) and the number of hops.
    """
    counts, correct, hops = collections.Counter(), 0, 0
    by_found = {True: [0, 0], False: [0, 0]}
    for e, r in pairs:
        right = r["answer"] == e.answer
        correct += right
        offset = max(0, len(e.story) - memory_size)  # sentences dropped by the memory window
        tops = [int(np.argmax(weights[: len(r["sentences"])])) + offset for weights in r["attention"]]
        hops = len(tops)
        for hop, top in enumerate(tops, 1):
            for i, fact in enumerate(e.supporting):
                counts[hop, i] += top == fact
        in_order = all(top == fact for top, fact in zip(tops, e.supporting))
        by_found[in_order][0] += 1
        by_found[in_order][1] += right
    return counts, correct, by_found, hops


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("name")
    p.add_argument("--weights", required=True)
    p.add_argument("--task", type=int, required=True)
    p.add_argument("--n", type=int, default=300)
    p.add_argument("--split", default="valid", choices=["train", "valid", "test"])
    p.add_argument("--data-dir", default=DEFAULT_DATA)
    args = p.parse_args()
    if args.n < 1:
        p.error(f"--n must be 1 or more, got {args.n}")

    try:
        model = zoo.load(args.name, weights=args.weights, compile=False)
        examples, _ = load_split(args.data_dir, trained_folder(args.name, args.weights), str(args.task), args.split)
    except (ValueError, FileNotFoundError) as err:
        p.error(str(err))
    memory_size = model.get_config()["memory_size"]
    examples = examples[: args.n]
    pairs = ((e, model.answer([" ".join(s) for s in e.story], " ".join(e.query))) for e in examples)
    counts, correct, by_found, hops = tally(pairs, memory_size)
    facts = max(len(e.supporting) for e in examples)
    print(f"{args.name} {args.weights}, task {args.task}, {len(examples)} {args.split} questions: "
          f"accuracy {100 * correct / len(examples):.1f}%")
    print("| hop | " + " | ".join(f"top on fact {i + 1} %" for i in range(facts)) + " |")
    print("|---" * (facts + 1) + "|")
    for hop in range(1, hops + 1):
        cells = " | ".join(f"{100 * counts[hop, i] / len(examples):.1f}" for i in range(facts))
        print(f"| {hop} | {cells} |")
    for in_order, (n, right) in by_found.items():
        what = "hop i tops on fact i" if in_order else "some hop i misses fact i"
        share = f"answers {100 * right / n:.1f}% right" if n else "none"
        print(f"{what}: {n} questions, {share}")


if __name__ == "__main__":
    main()
