"""Pictures of what a model reads: ``explain`` as heatmaps over the story's sentences.

>>> import zoo, zoo.plot
>>> model = zoo.load("memn2n", weights="babi-1k")
>>> fig = zoo.plot.explain_figure(model, "Mary moved to the bathroom. John went to the hallway.",
...                               "Where is Mary?", supporting=[0], path="mary.png")

Each model names its weights over the sentences in ``explain`` the same way: ``attention_hop_K`` and
``gate_pass_K`` ``[batch, memory]`` (MemN2N, GMemN2N, KV-MemNN, MemNN, W-MemNN; DMN, DMN+), ``heads_hop_K``
``[batch, heads, memory]`` (W-MemNN) and ``gates`` ``[batch, memory, blocks]`` (EntNet). Each kind is one
panel, sentences down and hops, passes, heads or memory blocks across.
"""

import io
import os
import re

import numpy as np

from zoo.io import atomic_write_bytes

_STEP = re.compile(r"^(attention_hop|gate_pass|heads_hop)_(\d+)$")


def sentence_maps(explained, sentences):
    """Panels ``[(title, matrix [sentences, columns], column labels)]`` from a batch-of-1 ``explain`` output."""
    from zoo.predict import on_sentences

    n = len(sentences)
    explained = on_sentences(explained, n)
    steps, heads = [], []
    for key, value in explained.items():
        value = np.asarray(value)[0]
        found = _STEP.match(key)
        if found and found.group(1) != "heads_hop" and value.shape == (n,):
            steps.append((found.group(1), int(found.group(2)), value))
        elif found and value.ndim == 2 and value.shape[1] == n:
            heads.append((int(found.group(2)), value))
    panels = []
    for kind in ("attention_hop", "gate_pass"):
        chosen = sorted((k, v) for name, k, v in steps if name == kind)
        if chosen:
            word = "hop" if kind == "attention_hop" else "pass"
            panels.append((f"{'attention' if word == 'hop' else 'gate'} per {word}",
                           np.stack([v for _, v in chosen], axis=1), [f"{word} {k}" for k, _ in chosen]))
    if heads:
        heads.sort(key=lambda x: x[0])
        matrix = np.concatenate([v.T for _, v in heads], axis=1)
        labels = [f"{k}.{h + 1}" for k, v in heads for h in range(v.shape[0])]
        panels.append(("attention per head (hop.head)", matrix, labels))
    gates = explained.get("gates")
    if gates is not None and np.asarray(gates).ndim == 3 and np.asarray(gates).shape[1] == n:
        matrix = np.asarray(gates)[0]
        panels.append(("gate per memory block", matrix, [str(j + 1) for j in range(matrix.shape[1])]))
    return panels


def explain_figure(model, story, question, supporting=None, path=None, overwrite=False):
    """A matplotlib figure of what ``model`` (loaded with weights) reads to answer ``question``.

    Args:
        story: text or a list of sentences, as for ``model.answer``.
        supporting: indices (from 0) of the sentences that answer it, marked with '>' and bold.
        path: also write the figure there (PNG, or any format matplotlib knows by the extension), whole or
            not at all; an existing file is replaced only with ``overwrite``.

    Returns the figure; the title holds the question and the model's answer.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    if path is not None and os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True (--overwrite) to replace it")
    result = model.answer(story, question)
    sentences = result["sentences"]
    from zoo.predict import encode

    inputs, _ = encode(model.vocab, sentences, question, model.get_config()["memory_size"])
    panels = sentence_maps(model.explain(inputs), sentences)
    if not panels:
        raise ValueError(f"{model.name}'s explain gives no weights over the sentences to draw")
    marked = set(supporting or ())
    bad = sorted(i for i in marked if not (isinstance(i, (int, np.integer)) and 0 <= i < len(sentences)))
    if bad:
        raise ValueError(f"supporting facts {bad} name no sentence; valid: 0 to {len(sentences) - 1} (the sentences "
                         f"in memory, from 0)")
    widths = [max(2.0, 0.45 * m.shape[1]) for _, m, _ in panels]
    fig, axes = plt.subplots(1, len(panels), squeeze=False, sharey=True,
                             figsize=(4.5 + sum(widths), 1.2 + 0.32 * len(sentences)),
                             gridspec_kw={"width_ratios": widths})
    for ax, (title, matrix, labels) in zip(axes[0], panels):
        image = ax.imshow(matrix, aspect="auto", cmap="Blues", vmin=0.0, vmax=max(1e-6, float(matrix.max())))
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(len(labels)), labels, rotation=90 if len(labels) > 6 else 0, fontsize=7)
        fig.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
    ax = axes[0][0]
    ax.set_yticks(range(len(sentences)), [("> " if i in marked else "") + s for i, s in enumerate(sentences)],
                  fontsize=8)
    for i, label in enumerate(ax.get_yticklabels()):
        if i in marked:
            label.set_fontweight("bold")
    fig.suptitle(f"{model.name}  Q: {question}  A: {result['answer']}", fontsize=10)
    fig.tight_layout()
    if path is not None:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=os.path.splitext(path)[1].lstrip(".").lower() or "png", dpi=120)
        atomic_write_bytes(path, buffer.getvalue())
    return fig
