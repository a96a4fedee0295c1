"""Parity of exported artefacts with Keras, on given batches."""

import numpy as np

from .runners import RUNNERS, TOLERANCE
from .signatures import reference


def keras_probabilities(model, inputs):
    """What the exports should answer: the Keras model under the serving rules (``export.signatures``)."""
    return reference(model, inputs["story"], inputs["query"])["probabilities"]


def compare(model, paths, batches, answers=None):
    """Per artefact: max abs difference of probabilities, argmax agreement and accuracy.

    ``batches`` is a list of input dicts; ``answers`` (optional) the answer ids
    of each batch. Returns {artefact: {"max_abs_diff", "argmax_equal",
    "accuracy", "keras_accuracy", "tolerance", "ok"}}.
    """
    results = {}
    for kind, path in paths.items():
        runner = RUNNERS[kind](path)
        diff, same, right, keras_right, n = 0.0, 0, 0, 0, 0
        for i, inputs in enumerate(batches):
            ref = keras_probabilities(model, inputs)
            out = runner(inputs["story"], inputs["query"])
            diff = max(diff, float(np.abs(out - ref).max()))
            same += int((out.argmax(-1) == ref.argmax(-1)).sum())
            n += len(ref)
            if answers is not None:
                right += int((out.argmax(-1) == answers[i]).sum())
                keras_right += int((ref.argmax(-1) == answers[i]).sum())
        tol = TOLERANCE[kind]
        results[kind] = {
            "max_abs_diff": diff, "argmax_equal": same / n, "tolerance": tol,
            "accuracy": right / n if answers is not None else None,
            "keras_accuracy": keras_right / n if answers is not None else None,
            "ok": tol is None or (diff <= tol and same == n),
        }
    return results
