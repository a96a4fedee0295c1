"""One model per bAbI task, all trained in one graph and one pass over the data (``train --per-task``).

Most of the papers' bAbI figures are per task: one model trained and chosen on
each task alone. A :class:`TaskStack` holds one copy of a model per task. The
pipeline yields batches of one task each (``make_dataset(..., by_task=True)``),
and a training step runs only that task's copy, picked by ``tf.switch_case``:
its forward pass, its own ``compute_loss`` and its own optimizer (the copy's
compiled one: its slots, its step count, its clipping), so that each copy
trains as a single run of the model on its task's batches would, and a step
costs one copy's work. The copies share the schedule (linear start, annealing)
and each keeps its own best epoch on its task's valid questions.

The result ships as one folder: a ``task-T/`` weight folder per task (each an
ordinary one, checked and loaded as any other) under a ``metadata.json`` and
model card for them all; ``zoo.load(name, weights=..., task=T)`` returns task
T's model.
"""

import os

import keras
import numpy as np
from keras import ops

from zoo.seeds import CopyStack
from zoo.training import compile_model, errors_of, make_optimizer, predict_ids


class TaskStack(CopyStack):
    """One compiled zoo model per bAbI task; inputs carry ``task`` [batch] (bAbI task numbers).

    Args:
        copies: the zoo models, each compiled with the recipe (their losses and optimizers are used).
        tasks: the bAbI task of each copy.

    Training and evaluation batches must hold one task each. The output of ``call`` is, for each example,
    the logits of its task's copy. Logs per epoch: ``loss`` and ``accuracy`` (means over the copies) and
    ``copy{i}_loss`` and ``copy{i}_accuracy`` of copy i on its own task's batches.
    """

    def __init__(self, copies, tasks, **kwargs):
        if len(copies) != len(tasks) or len(set(tasks)) != len(tasks):
            raise ValueError(f"one copy per task: got {len(copies)} copies for tasks {list(tasks)}")
        super().__init__(copies, **kwargs)
        self.tasks = [int(t) for t in tasks]
        table = np.full(max(self.tasks) + 1, -1, np.int32)
        table[self.tasks] = np.arange(len(self.tasks))
        self.table = table
        for c in self.copies:  # slots made now, not inside a branch of the traced step
            c.optimizer.build(c.trainable_variables)

    def _split(self, x):
        import tensorflow as tf

        inputs = {k: v for k, v in x.items() if k != "task"}
        index = ops.take(ops.convert_to_tensor(self.table), x["task"])
        # A task without a copy would fall to switch_case's last branch: an error instead.
        tf.debugging.assert_non_negative(index, message=f"a task without a model of its own (tasks: {self.tasks})")
        return inputs, index

    def call(self, inputs, training=False):
        inputs, index = self._split(inputs)
        logits = ops.stack([c(inputs, training=training) for c in self.copies], axis=1)  # [batch, copies, vocab]
        return ops.einsum("bkv,bk->bv", logits, ops.one_hot(index, len(self.copies), dtype=logits.dtype))

    def _step(self, data, training):
        import tensorflow as tf

        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        inputs, index = self._split(x)
        lr = self.optimizer.learning_rate

        def branch(i):
            c = self.copies[i]

            def run():
                with tf.GradientTape() as tape:
                    y_pred = c(inputs, training=training)
                    loss = c.compute_loss(x=inputs, y=y, y_pred=y_pred, sample_weight=sample_weight,
                                          training=training)
                if training:
                    pairs = [(g, v) for g, v in zip(tape.gradient(loss, c.trainable_variables),
                                                    c.trainable_variables) if g is not None]
                    c.optimizer.learning_rate.assign(lr)
                    c.optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
                self.loss_trackers[i].update_state(loss)
                self.accuracies[i].update_state(y, y_pred, sample_weight=sample_weight)
                return loss
            return run

        # The batch is of one task: only its copy runs (and counts in its metrics).
        tf.switch_case(index[0], [branch(i) for i in range(len(self.copies))])
        return self._logs()

    def train_step(self, data):
        return self._step(data, training=True)

    def test_step(self, data):
        return self._step(data, training=False)


def build_task_stack(spec, config, recipe, tasks, seed):
    """A compiled :class:`TaskStack` of ``spec``'s model, one copy per task, each initialised as a single run
    with ``seed``. No XLA: it would compile every copy's branch for every batch shape."""
    copies = []
    for _ in tasks:
        keras.utils.set_random_seed(seed)
        copies.append(compile_model(spec.build(**config), {**recipe, "jit_compile": False}))
    stack = TaskStack(copies, tasks, name=f"{spec.name}_per_task")
    # The stack's optimizer only holds the schedule's learning rate; each copy's own one trains it.
    stack.compile(optimizer=make_optimizer({**recipe, "clipnorm": None, "global_clipnorm": None}),
                  steps_per_execution=recipe.get("steps_per_execution", 1))
    return stack


def task_subset(arrays, task):
    """The examples of one bAbI task."""
    keep = arrays["task"] == task
    return {k: v[keep] for k, v in arrays.items()}


def per_task_errors(copies, tasks, arrays, batch_size=256):
    """Each task scored with its own model: error in percent per task, the mean and the failed tasks."""
    missing = sorted(set(np.unique(arrays["task"]).tolist()) - set(tasks))
    if missing:
        raise ValueError(f"tasks {missing} have no model of their own (the models are of tasks {list(tasks)})")
    pred = np.empty(len(arrays["answer"]), np.int32)
    for model, task in zip(copies, tasks):
        keep = arrays["task"] == task
        if keep.any():
            pred[keep] = predict_ids(model, task_subset(arrays, task), batch_size)
    return errors_of(pred, arrays)


def save_per_task(stack, best_epochs, vocab, folder, meta, train_arr, valid_arr, card):
    """Writes a per-task weight folder atomically: ``task-T/`` (an ordinary weight folder) for each copy, then
    the metadata and card of them all. ``meta`` is the run's metadata, its ``valid`` the errors of
    :func:`per_task_errors`; returns the folder's."""
    from zoo.data.pipeline import make_dataset
    from zoo.io import atomic_write_json, atomic_write_text, sha256_file
    from zoo.weights import save_folder, writing_folder

    with writing_folder(folder) as tmp:
        per_task, sha = {}, {}
        for model, task, best_epoch in zip(stack.copies, stack.tasks, best_epochs):
            train_t, valid_t = task_subset(train_arr, task), task_subset(valid_arr, task)
            error = meta["valid"]["tasks"][str(task)]
            sub = f"task-{task}"
            golden = {k: np.asarray(v) for k, v in next(iter(make_dataset(valid_t, 8)))[0].items()}
            save_folder(model, vocab, os.path.join(tmp, sub), {
                **meta, "tag": f"{meta['tag']}/{sub}", "config": model.get_config(),
                "parameters": int(model.count_params()),
                "data": {**meta["data"], "tasks": [task], "train_examples": int(len(train_t["answer"])),
                         "valid_examples": int(len(valid_t["answer"]))},
                "best_epoch": best_epoch,
                "valid": {"tasks": {str(task): error}, "mean_error": error,
                          "failed_tasks": [task] if error > 5.0 else []},
                "notes": meta["notes"] + [f"task {task}'s model of the per-task folder {meta['tag']} (one model "
                                          f"per task, trained in one graph: zoo.per_task); the training time is "
                                          f"that of all of them together"]},
                golden_inputs=golden, card=card)
            per_task[str(task)] = {"folder": sub, "best_epoch": best_epoch,
                                   "valid_examples": int(len(valid_t["answer"]))}
            sha[f"{sub}/metadata.json"] = sha256_file(os.path.join(tmp, sub, "metadata.json"))
        top = {**meta, "best_epoch": None, "per_task": per_task, "sha256": sha}  # config, parameters: one model's
        atomic_write_json(os.path.join(tmp, "metadata.json"), top)
        atomic_write_text(os.path.join(tmp, "README.md"), card(top))
    return top
