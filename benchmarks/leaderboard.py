"""The shipped weights beside the papers: a Markdown table and a PNG from the model cards.

    python benchmarks/leaderboard.py --markdown leaderboard.md --png leaderboard.png

Per-task valid error of every shipped weight folder (``saved_models/*/*/metadata.json``, measured when it
was trained), its mean over all tasks and over the 19 tasks with 10k training data here (task 3's 10k file
is missing), and the paper's mean error in its regime. The papers report the test split, the zoo the valid
split (the test files are held out), so the columns are alike in protocol, not in data.
"""

import argparse
import glob
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (model, size) -> [(paper's mean test error %, regime)]; the figures the zoo's issues and README quote.
PAPERS = {
    ("memnn", "1k"): [(6.7, "per task, strong supervision, with n-grams and nonlinearity")],
    ("memn2n", "1k"): [(12.4, "joint, PE LS RN")],
    ("memn2n", "10k"): [(7.54, "joint, PE LS RN, over the same 19 tasks"), (6.6, "per task, PE LS RN")],
    ("gated_memn2n", "10k"): [(3.7, "per task")],
    ("dmn", "1k"): [(6.4, "per task, strong supervision")],
    ("dmn_plus", "10k"): [(2.8, "per task, best of 10")],
    ("entnet", "10k"): [(9.7, "joint, mean over runs in the literature"), (0.5, "per task, best of 10")],
    ("wmemnn", "10k"): [(0.5, "joint, one model (paper: under 0.5)")],
}


def rows():
    found = []
    for path in sorted(glob.glob(os.path.join(ROOT, "saved_models", "*", "*", "metadata.json"))):
        with open(path, encoding="utf-8") as f:
            meta = json.load(f)
        tasks = {int(t): e for t, e in meta["valid"]["tasks"].items()}
        size = "10k" if "10k" in (meta.get("data", {}).get("folder") or "") else "1k"
        nineteen = [e for t, e in tasks.items() if t != 3]
        papers = PAPERS.get((meta["model"], size), [])
        if meta.get("per_task"):  # one model per task: beside the papers' per-task figures only
            papers = [(e, regime) for e, regime in papers if regime.startswith("per task")]
        found.append({"model": meta["model"], "weights": os.path.basename(os.path.dirname(path)), "size": size,
                      "tasks": tasks, "mean": sum(tasks.values()) / len(tasks),
                      "mean19": sum(nineteen) / len(nineteen), "failed": len(meta["valid"]["failed_tasks"]),
                      "papers": papers})
    return found


def markdown(found):
    tasks = sorted({t for r in found for t in r["tasks"]})
    head = ("| model | weights | " + " | ".join(str(t) for t in tasks) + " | mean | mean (19, no task 3) | failed "
            "(> 5%) | paper (test, regime) |")
    lines = [head, "|" + "---|" * (len(tasks) + 6)]
    for r in found:
        papers = "; ".join(f"{e} ({regime})" for e, regime in r["papers"]) or "-"
        cells = " | ".join(f"{r['tasks'][t]:g}" if t in r["tasks"] else "-" for t in tasks)
        lines.append(f"| {r['model']} | {r['weights']} | {cells} | **{r['mean']:.2f}** | {r['mean19']:.2f} | "
                     f"{r['failed']} | {papers} |")
    return "\n".join(lines) + "\n"


def picture(found, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 0.45 * len(found) + 1.2))
    names = [f"{r['model']} / {r['weights']}" for r in found]
    ax.barh(range(len(found)), [r["mean"] for r in found], color="#6a9fd4", label="zoo, valid mean error")
    for i, r in enumerate(found):
        for error, regime in r["papers"]:
            joint = regime.startswith("joint")
            ax.plot(error, i, marker="D" if joint else "o", color="#c0392b" if joint else "#7d3c98", markersize=7,
                    linestyle="none", label="paper (test): " + ("joint" if joint else "per task"))
    ax.set_yticks(range(len(found)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("mean error % over bAbI's 20 tasks (papers: their test split and regime)")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=8, loc="lower right")
    fig.tight_layout()
    tmp = path + ".tmp.png"
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--markdown", help="write the table to this file (default: print it)")
    p.add_argument("--png", help="write the bar chart to this file")
    args = p.parse_args(argv)
    found = rows()
    table = markdown(found)
    if args.markdown:
        with open(args.markdown + ".tmp", "w", encoding="utf-8") as f:
            f.write(table)
        os.replace(args.markdown + ".tmp", args.markdown)
    else:
        sys.stdout.write(table)
    if args.png:
        picture(found, args.png)


if __name__ == "__main__":
    main()
