"""The model registry: one ModelSpec per architecture."""

import dataclasses
import fnmatch
import math

import numpy as np

_REGISTRY = {}


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What the zoo knows of one architecture.

    Attributes:
        name: registry name (``zoo.load(name)``).
        cls: the ZooModel subclass.
        paper: citation.
        default_config: constructor arguments of a fresh model.
        tiny_config: a small config for tests.
        recipe: the paper's training recipe (see ``zoo.training.Recipe``).
        unsupported_exports: formats the model cannot export to, with the reason.
        supporting_facts: trains on supporting facts, given as the input
            ``supporting`` [batch, k] (strong supervision).
        supervision_loss: with ``supporting_facts``, what the facts train
            (for the model card).
        select: how ``train(..., seeds=N)`` chooses among its copies by
            default, as the paper chose among runs: ``"train"`` (lowest
            training error) or ``"valid"`` (lowest valid error).
    """

    name: str
    cls: type
    paper: str
    default_config: dict
    tiny_config: dict
    recipe: dict = dataclasses.field(default_factory=dict)
    unsupported_exports: dict = dataclasses.field(default_factory=dict)
    supporting_facts: bool = False
    supervision_loss: str = "margin ranking loss"
    select: str = "valid"

    @property
    def supervision(self):
        if self.supporting_facts:
            return f"answers and supporting facts ({self.supervision_loss})"
        return "answers only"

    def check_config(self, config):
        """Raises ValueError naming an unknown key, or a value not of its default's kind."""
        valid = sorted(self.default_config)
        unknown = sorted(set(config) - set(valid))
        if unknown:
            raise ValueError(f"unknown config key(s) {unknown} for model {self.name!r}; valid: {', '.join(valid)}")
        for key, value in config.items():
            check_config_value(self.name, key, value, self.default_config[key])

    def build(self, **overrides):
        self.check_config(overrides)
        return self.cls(**{**self.default_config, **overrides})

    def example_batch(self, batch=2, memory=5, words=6, seed=0):
        """A random input batch that fits ``tiny_config``."""
        rng = np.random.default_rng(seed)
        vocab = self.tiny_config["vocab_size"]
        story = rng.integers(1, vocab, size=(batch, memory, words)).astype("int32")
        story[:, :, words - 2:] = 0  # padding words
        story[0, memory - 1] = 0  # a padding slot
        query = rng.integers(1, vocab, size=(batch, words)).astype("int32")
        query[:, words - 1] = 0
        batch_inputs = {"story": story, "query": query}
        if self.supporting_facts:
            facts = rng.integers(0, max(memory - 1, 1), size=(batch, 2)).astype("int32")
            facts[0, 1] = -1  # one example with a single fact
            batch_inputs["supporting"] = facts
        return batch_inputs


# Config keys whose numbers have bounds other than "an int of 1 or more" or "a number of 0 or more".
_OPEN_UNIT = {"dropout"}  # in [0, 1)
_POSITIVE = {"stddev", "margin"}  # > 0


def check_config_value(model, key, value, default):
    """A config value of the type of its default: sizes are ints of 1 or more, rates and weights numbers
    of 0 or more, switches booleans, layer sizes lists of ints of 1 or more. Raises ValueError naming the key."""
    def bad(want):
        return ValueError(f"config key {key!r} of model {model!r} must be {want}, got {value!r}")

    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad("true or false")
    elif isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad("an integer of 1 or more")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise bad("a number")
        if key in _OPEN_UNIT and not 0 <= value < 1:
            raise bad("a number in [0, 1)")
        if key in _POSITIVE and value <= 0:
            raise bad("a number above 0")
        if value < 0:
            raise bad("a number of 0 or more")
    elif isinstance(default, str):
        if not isinstance(value, str):
            raise bad("a string")
    elif default is None and value is not None and not key.endswith("_ids"):  # an optional size
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad("null or an integer of 1 or more")
    elif isinstance(default, list):
        least = 0 if key.endswith("_ids") else 1
        if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) or v < least
                                              for v in value):
            raise bad(f"a list of integers of {least} or more")


def register_model(spec):
    """Adds a ModelSpec to the registry (its class is registered for `.keras` loading by its decorator)."""
    if spec.name in _REGISTRY:
        raise ValueError(f"model {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def get_spec(name):
    _load_builtin()
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; valid: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def list_models(pattern=None):
    """Sorted registered model names, optionally filtered by a wildcard pattern."""
    _load_builtin()
    names = sorted(_REGISTRY)
    return [n for n in names if pattern is None or fnmatch.fnmatch(n, pattern)]


def _load_builtin():
    if not _REGISTRY:
        from zoo.models import specs  # noqa: F401  registers the built-in models
