"""The model registry: one ModelSpec per architecture."""

import dataclasses
import fnmatch

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

    @property
    def supervision(self):
        if self.supporting_facts:
            return f"answers and supporting facts ({self.supervision_loss})"
        return "answers only"

    def build(self, **overrides):
        valid = sorted(self.default_config)
        unknown = sorted(set(overrides) - set(valid))
        if unknown:
            raise ValueError(f"unknown config key(s) {unknown} for model {self.name!r}; valid: {', '.join(valid)}")
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
