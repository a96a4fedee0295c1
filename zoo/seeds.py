"""Many independently initialised copies of a model, trained together in one graph.

The papers' bAbI figures are bests of several runs. These models are small and
a training step here costs more in overhead than in arithmetic, so N copies fed
the same batches in one Keras model cost far less than N runs. Each copy keeps
its own variables, optimizer slots (the optimizer's state is per variable),
gradient clipping (``global_clipnorm`` is applied to each copy's gradients on
their own) and its own loss, including a model's own ``compute_loss`` (the
ranking loss of MemNN, the gate loss of DMN) and L2 term. The copies share the
data: the order of the batches and the pipeline's random empty memories
(recipe ``noise``) are the same for all.
"""

import os

import keras
import numpy as np
from keras import ops

from zoo.training import RecipeSchedule, compile_model, errors_of, make_optimizer, predict_ids, xla_per_shape


class CopyStack(keras.Model):
    """Copies of a zoo model in one Keras model, each with its own loss and accuracy metrics
    (``copy{i}_loss``, ``copy{i}_accuracy``); the logs add their means over the copies as ``loss`` and
    ``accuracy``. The base of :class:`SeedStack` and :class:`zoo.per_task.TaskStack`."""

    def __init__(self, copies, **kwargs):
        super().__init__(**kwargs)
        self.copies = list(copies)
        n = len(self.copies)
        self.loss_trackers = [keras.metrics.Mean(name=f"copy{i}_loss") for i in range(n)]
        self.accuracies = [keras.metrics.SparseCategoricalAccuracy(name=f"copy{i}_accuracy") for i in range(n)]
        self.built = True  # the copies are functional models, built already

    @property
    def metrics(self):
        return self.loss_trackers + self.accuracies

    def _logs(self):
        logs = {m.name: m.result() for m in self.metrics}
        n = len(self.copies)
        logs["loss"] = ops.sum(ops.stack([t.result() for t in self.loss_trackers])) / n
        logs["accuracy"] = ops.sum(ops.stack([a.result() for a in self.accuracies])) / n
        return logs


class SeedStack(CopyStack):
    """N copies of a zoo model in one Keras model; the output is their logits stacked, [N, batch, vocab].

    Args:
        copies: the zoo models, each compiled with the recipe (their losses are used; their optimizers are not).
        global_clipnorm: clip each copy's gradients together to this norm (None: no such clipping); compile the
            stack's optimizer without it.

    Logs per epoch: ``loss`` and ``accuracy`` (the means over the copies) and ``copy{i}_loss`` and
    ``copy{i}_accuracy`` of each copy.
    """

    def __init__(self, copies, global_clipnorm=None, **kwargs):
        super().__init__(copies, **kwargs)
        self.global_clipnorm = global_clipnorm

    def call(self, inputs, training=False):
        return ops.stack([c(inputs, training=training) for c in self.copies])

    def _copy_losses(self, x, y, y_pred, sample_weight, training):
        losses = [c.compute_loss(x=x, y=y, y_pred=y_pred[i], sample_weight=sample_weight, training=training)
                  for i, c in enumerate(self.copies)]
        for tracker, loss in zip(self.loss_trackers, losses):
            tracker.update_state(loss)
        return losses

    def _copy_logs(self, y, y_pred, sample_weight):
        for i, acc in enumerate(self.accuracies):
            acc.update_state(y, y_pred[i], sample_weight=sample_weight)
        return self._logs()

    def train_step(self, data):
        import tensorflow as tf

        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            losses = self._copy_losses(x, y, y_pred, sample_weight, training=True)
            loss = self.optimizer.scale_loss(ops.sum(ops.stack(losses)))
        variables = self.trainable_variables
        grads = dict(zip((id(v) for v in variables), tape.gradient(loss, variables)))
        pairs = []
        for c in self.copies:
            own = [(grads[id(v)], v) for v in c.trainable_variables if grads.get(id(v)) is not None]
            if self.global_clipnorm:
                # Dense first, as Keras's own global_clipnorm: the norm of an embedding's IndexedSlices would
                # count a word met twice in a batch as two rows.
                clipped, _ = tf.clip_by_global_norm([tf.convert_to_tensor(g) for g, _ in own],
                                                    self.global_clipnorm)
                own = list(zip(clipped, (v for _, v in own)))
            pairs += own
        self.optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
        return self._copy_logs(y, y_pred, sample_weight)

    def test_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        y_pred = self(x, training=False)
        self._copy_losses(x, y, y_pred, sample_weight, training=False)
        return self._copy_logs(y, y_pred, sample_weight)


def build_stack(spec, config, recipe, seeds):
    """A compiled :class:`SeedStack` of ``spec``'s model, copy i initialised as a single run with ``seeds[i]``."""
    copies = []
    for i, seed in enumerate(seeds):
        keras.utils.set_random_seed(seed)
        copies.append(compile_model(spec.build(**config), recipe))
    stack = SeedStack(copies, global_clipnorm=recipe.get("global_clipnorm"), name=f"{spec.name}_seeds")
    stack.compile(optimizer=make_optimizer({**recipe, "global_clipnorm": None}),
                  jit_compile=recipe.get("jit_compile", False),
                  steps_per_execution=recipe.get("steps_per_execution", 1))
    if recipe.get("xla_per_shape"):
        xla_per_shape(stack)
    return stack


def stack_errors(stack, arrays, batch_size=256):
    """Per copy: error in percent per bAbI task, the mean and the failed tasks (as ``training.task_errors``)."""
    return [errors_of(pred, arrays) for pred in predict_ids(stack, arrays, batch_size)]


class StackSchedule(RecipeSchedule):
    """:class:`zoo.training.RecipeSchedule` for a :class:`SeedStack`: each copy keeps its own best epoch on
    valid, in its own file. Linear start ends for all copies together (on their mean valid loss), and the
    recipe's ``patience`` counts from the last epoch that was best for any copy."""

    def __init__(self, recipe, best_path, state_path, copies):
        super().__init__(recipe, best_path, state_path)
        self.state["copies"] = [{"best_acc": -1.0, "best_loss": float("inf"), "best_epoch": None}
                                for _ in range(copies)]

    def best_files(self):
        stem = self.best_path[:-len(".weights.h5")] if self.best_path.endswith(".weights.h5") else self.best_path
        return [f"{stem}-copy{i}.weights.h5" for i in range(len(self.state["copies"]))]

    def keep_best(self, epoch, logs, val_acc, val_loss):
        copies = self.state["copies"]
        for i, (model, path, best) in enumerate(zip(self.model.copies, self.best_files(), copies)):
            acc, loss = float(logs[f"val_copy{i}_accuracy"]), float(logs[f"val_copy{i}_loss"])
            if (acc, -loss) > (best["best_acc"], -best["best_loss"]):
                best.update(best_acc=acc, best_loss=loss, best_epoch=epoch + 1)
                model.save_weights(path + ".tmp.weights.h5")
                os.replace(path + ".tmp.weights.h5", path)
        self.state["best_epoch"] = max(b["best_epoch"] for b in copies)
        self.state["best_acc"] = float(np.mean([b["best_acc"] for b in copies]))


def choose_copy(stack, schedule, valid_arr, train_arr, select, seeds):
    """Loads each copy's best weights and picks one by ``select``: returns its index and the summary of all
    copies for the metadata (per-task valid errors of each, their mean and standard deviation)."""
    for model, path in zip(stack.copies, schedule.best_files()):
        model.load_weights(path)
    valid = stack_errors(stack, valid_arr)
    train = stack_errors(stack, train_arr) if select == "train" else None
    scores = [r["mean_error"] for r in (train if select == "train" else valid)]
    chosen = int(np.argmin(scores))
    means = [r["mean_error"] for r in valid]
    copies = [{"seed": seed, "best_epoch": best["best_epoch"], "valid": r,
               **({"train_mean_error": t["mean_error"]} if train else {})}
              for seed, best, r, t in zip(seeds, schedule.state["copies"], valid, train or [None] * len(valid))]
    why = {"train": "the lowest mean training error (at each copy's best epoch on valid)",
           "valid": "the lowest mean valid error"}[select]
    return chosen, {"copies": copies, "select": select, "chosen": chosen, "why": why,
                    "valid_mean_error": {"mean": round(float(np.mean(means)), 2),
                                         "std": round(float(np.std(means)), 2),
                                         "min": min(means), "max": max(means)}}
