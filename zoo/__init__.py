"""Memory Networks model zoo for Keras 3.

>>> import zoo
>>> zoo.list_models("mem*")
['memn2n', 'memnn']
"""

from zoo.registry import ModelSpec, get_spec, list_models, register_model
from zoo.weights import list_weights

__all__ = ["ModelSpec", "list_models", "list_weights", "load", "register_model"]


def load(name, weights=None, compile=True, task=None, **overrides):
    """Returns a ready model.

    Args:
        name: a registered model (``zoo.list_models()``).
        weights: ``None`` (fresh), a shipped tag (``zoo.list_weights(name)``,
            e.g. ``"babi-1k"``) or the path of a weight folder. Files are
            sha256-checked; nothing in them is executed.
        compile: compile with the model's training recipe (no XLA).
        task: for per-task weights (``train --per-task``, e.g.
            ``"babi-10k-per-task"``), the bAbI task whose model to load.
        **overrides: config values for a fresh model (``weights=None``).

    The model has a ``vocab`` attribute (a ``zoo.data.Vocabulary``) when
    loaded with weights.
    """
    from zoo.training import compile_model
    from zoo.weights import load_folder, resolve

    spec = get_spec(name)
    folder = resolve(name, weights)
    if folder is None:
        if task is not None:
            raise ValueError(f"task={task!r} picks a model of per-task weights; weights=None builds a fresh model")
        model = spec.build(**overrides)
    else:
        if overrides:
            raise ValueError(f"config overrides {sorted(overrides)} apply to fresh models only (weights=None): "
                             f"the config of weights {weights!r} is fixed")
        model, _ = load_folder(name, folder, task=task)
    if compile:
        compile_model(model, {**spec.recipe, "jit_compile": False, "steps_per_execution": 1})
    return model
