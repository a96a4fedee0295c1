"""ZooModel: a functional Keras model wrapped in a class, and nothing deeper."""

import keras
import numpy as np


class ZooModel(keras.Model):
    """Base of every zoo model.

    A subclass builds its layers and functional graph in ``__init__`` and
    hands them here with its constructor arguments, which become its config
    (so ``from_config`` is ``cls(**config)``). Inputs are ``story`` int32
    [batch, memory, words] and ``query`` int32 [batch, words]; the output is
    answer logits over the vocabulary. Inner values (attention, gates) are
    given to ``explain_tensors`` and read with :meth:`explain`, outside the
    serving output.
    """

    def __init__(self, inputs, outputs, config, explain_tensors=None, **kwargs):
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        # Plain attributes, kept out of Keras's tracking and saving.
        object.__setattr__(self, "_zoo_config", dict(config))
        object.__setattr__(self, "_explain_tensors", dict(explain_tensors or {}))
        object.__setattr__(self, "_explain_model", None)
        object.__setattr__(self, "vocab", None)
        object.__setattr__(self, "l2", 0.0)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The compiled loss plus, when ``self.l2`` is set (the recipe key ``l2``),
        l2 * sum(||w||^2 / 2) over every trainable weight but the biases, as
        the DMN+ code adds it (``tf.nn.l2_loss``)."""
        loss = super().compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
        if self.l2 and training:
            from keras import ops

            penalty = [ops.sum(ops.square(v)) for v in self.trainable_weights if not v.path.endswith("bias")]
            loss = loss + self.l2 * 0.5 * ops.sum(ops.stack(penalty))
        return loss

    def get_config(self):
        return {**self._zoo_config, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def answer(self, story, question):
        """Answers a question about a story (text, or a list of sentences).

        Needs ``self.vocab`` (set by ``zoo.load`` with weights). Returns a dict
        with the ``answer`` word, the ``sentences`` in memory and the
        ``attention`` of each hop over them.
        """
        from zoo.predict import answer_with

        if self.vocab is None:
            raise ValueError("this model has no vocabulary: load it with weights (zoo.load(name, weights=...))")
        return answer_with(self, story, question)

    def explain(self, inputs):
        """Returns the model's inner values (such as attention per hop) as numpy."""
        if not self._explain_tensors:
            return {}
        if self._explain_model is None:
            object.__setattr__(self, "_explain_model", keras.Model(self.inputs, self._explain_tensors))
        # A compiled call, as predict's: an eager one runs the recurrent models' loops op by op (seconds a question).
        out = self._explain_model.predict_on_batch(inputs)
        return {k: np.asarray(v) for k, v in out.items()}


def model_inputs():
    """The shared input layers: story [batch, memory, words], query [batch, words]."""
    story = keras.Input(shape=(None, None), dtype="int32", name="story")
    query = keras.Input(shape=(None,), dtype="int32", name="query")
    return story, query


def check_config(hops=None, passes=None, **choices):
    """Raises ValueError naming the valid values: ``choices`` maps a name to ``(value, valid values)``;
    ``hops`` and ``passes`` must be 1 or more."""
    for name, (value, valid) in choices.items():
        if value not in valid:
            raise ValueError(f"{name} must be one of {sorted(valid)}, got {value!r}")
    for name, count in (("hops", hops), ("passes", passes)):
        if count is not None and count < 1:
            raise ValueError(f"{name} must be 1 or more, got {count}")
