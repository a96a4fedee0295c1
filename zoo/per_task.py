"""One model per bAbI task, all trained in one graph and one pass over the data (``train --per-task``).

Most of the papers' bAbI figures are per task: one model trained and chosen on
each task alone. A :class:`TaskStack` holds one copy of a model per task. The
pipeline yields batches of one task each (``make_dataset(..., by_task=True)``),
and a training step runs only that task's copy, picked by ``tf.switch_case``:
its forward pass, its own ``compute_loss`` and its own optimizer (the copy's
compiled one: its slots, its step count, its clipping), so that each copy
trains as a single run of the model on its task's batches would, and a step
costs one copy's work. The copies share the schedule (linear start, annealing)
and each keeps its own best epoch on its task's valid questions. With
``seeds`` of 2 or more, each task has that many copies (seed ``seed + s``),
all run on its batches, and one of them per task is shipped, chosen by the
paper's criterion (lowest training or valid error on that task).

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
    """Compiled zoo models, ``seeds`` per bAbI task; inputs carry ``task`` [batch] (bAbI task numbers).

    Args:
        copies: the zoo models, each compiled with the recipe (their losses and optimizers are used), task-major:
            copy ``k * seeds + s`` is seed s of ``tasks[k]``.
        tasks: the bAbI tasks.
        seeds: copies per task.

    Training and evaluation batches must hold one task each. The output of ``call`` is, for each example,
    the logits of its task's copy ([batch, vocab]; with seeds > 1 [seeds, batch, vocab]). Logs per epoch:
    ``loss`` and ``accuracy`` (means over the copies) and ``copy{i}_loss`` and ``copy{i}_accuracy`` of copy i
    on its own task's batches.
    """

    def __init__(self, copies, tasks, seeds=1, **kwargs):
        if len(set(tasks)) != len(tasks) or seeds < 1 or len(copies) != len(tasks) * seeds:
            raise ValueError(f"{seeds} copies per task: got {len(copies)} copies for tasks {list(tasks)}")
        super().__init__(copies, **kwargs)
        self.tasks = [int(t) for t in tasks]
        self.seeds = int(seeds)
        table = np.full(max(self.tasks) + 1, -1, np.int32)
        table[self.tasks] = np.arange(len(self.tasks))
        self.table = table
        for c in self.copies:  # slots made now, not inside a branch of the traced step
            c.optimizer.build(c.trainable_variables)

    def task_copies(self, k):
        """The indices of the copies of ``tasks[k]``."""
        return range(k * self.seeds, (k + 1) * self.seeds)

    def _split(self, x):
        import tensorflow as tf

        inputs = {k: v for k, v in x.items() if k != "task"}
        index = ops.take(ops.convert_to_tensor(self.table), x["task"])
        # A task without a copy would fall to switch_case's last branch: an error instead.
        tf.debugging.assert_non_negative(index, message=f"a task without a model of its own (tasks: {self.tasks})")
        return inputs, index

    def call(self, inputs, training=False):
        inputs, index = self._split(inputs)
        pick = ops.one_hot(index, len(self.tasks))
        out = []
        for s in range(self.seeds):
            logits = ops.stack([self.copies[i](inputs, training=training)
                                for i in range(s, len(self.copies), self.seeds)], axis=1)  # [batch, tasks, vocab]
            out.append(ops.einsum("bkv,bk->bv", logits, ops.cast(pick, logits.dtype)))
        return out[0] if self.seeds == 1 else ops.stack(out)

    def _step(self, data, training):
        import tensorflow as tf

        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        inputs, index = self._split(x)
        lr = self.optimizer.learning_rate

        def step(i):
            c = self.copies[i]
            with tf.GradientTape() as tape:
                y_pred = c(inputs, training=training)
                loss = c.compute_loss(x=inputs, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training)
            if training:
                pairs = [(g, v) for g, v in zip(tape.gradient(loss, c.trainable_variables), c.trainable_variables)
                         if g is not None]
                c.optimizer.learning_rate.assign(lr)
                c.optimizer.apply([g for g, _ in pairs], [v for _, v in pairs])
            self.loss_trackers[i].update_state(loss)
            self.accuracies[i].update_state(y, y_pred, sample_weight=sample_weight)
            return loss

        def branch(k):
            return lambda: ops.stack([step(i) for i in self.task_copies(k)])

        # The batch is of one task: only its copies run (and count in their metrics).
        tf.switch_case(index[0], [branch(k) for k in range(len(self.tasks))])
        return self._logs()

    def train_step(self, data):
        return self._step(data, training=True)

    def test_step(self, data):
        return self._step(data, training=False)


def build_task_stack(spec, config, recipe, tasks, seed, seeds=1):
    """A compiled :class:`TaskStack` of ``spec``'s model, ``seeds`` copies per task, copy s of each task
    initialised as a single run with ``seed + s``. No XLA: it would compile every copy's branch for every
    batch shape."""
    copies = []
    for _ in tasks:
        for s in range(seeds):
            keras.utils.set_random_seed(seed + s)
            copies.append(compile_model(spec.build(**config), {**recipe, "jit_compile": False}))
    stack = TaskStack(copies, tasks, seeds, name=f"{spec.name}_per_task")
    # The stack's optimizer only holds the schedule's learning rate; each copy's own one trains it.
    stack.compile(optimizer=make_optimizer({**recipe, "clipnorm": None, "global_clipnorm": None}),
                  steps_per_execution=recipe.get("steps_per_execution", 1))
    return stack


def choose_per_task(stack, schedule, valid_arr, train_arr, select, seed_list):
    """Loads each copy's best weights and, for each task, picks one of its seeds by ``select`` (its error on
    that task's training or valid questions). Returns the indices of the chosen copies (one per task, in the
    order of ``stack.tasks``) and a summary for the metadata: per task the errors of every seed and the one
    chosen; per seed the mean valid error over the tasks of its models, and the mean, standard deviation, min
    and max of those means."""
    for model, path in zip(stack.copies, schedule.best_files()):
        model.load_weights(path)
    n = stack.seeds
    tasks, chosen = {}, []
    for k, task in enumerate(stack.tasks):
        valid_t, train_t = task_subset(valid_arr, task), task_subset(train_arr, task)
        copies = [stack.copies[i] for i in stack.task_copies(k)]
        valid = [errors_of(predict_ids(c, valid_t), valid_t)["mean_error"] for c in copies]
        train = [errors_of(predict_ids(c, train_t), train_t)["mean_error"] for c in copies] if select == "train" \
            else None
        best = int(np.argmin(train if train else valid))
        chosen.append(stack.task_copies(k)[best])
        tasks[str(task)] = {"valid": valid, **({"train": train} if train else {}), "chosen": best,
                            "best_epoch": [schedule.state["copies"][i]["best_epoch"] for i in stack.task_copies(k)]}
    means = [round(float(np.mean([t["valid"][s] for t in tasks.values()])), 2) for s in range(n)]
    why = {"train": "the lowest training error on its task (at each copy's best epoch on valid)",
           "valid": "the lowest valid error on its task"}[select]
    return chosen, {"seeds": list(seed_list), "select": select, "why": why, "tasks": tasks,
                    "seed_mean_error": means,
                    "valid_mean_error": {"mean": round(float(np.mean(means)), 2), "std": round(float(np.std(means)), 2),
                                         "min": min(means), "max": max(means)}}


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


def save_per_task(copies, tasks, best_epochs, vocab, folder, meta, train_arr, valid_arr, card, seeds=None):
    """Writes a per-task weight folder atomically: ``task-T/`` (an ordinary weight folder) for each of the
    ``copies`` (one per task of ``tasks``), then the metadata and card of them all. ``meta`` is the run's
    metadata, its ``valid`` the errors of :func:`per_task_errors`; ``seeds`` the summary of
    :func:`choose_per_task` where each task had several copies (each task's folder then records its seeds as
    a ``--seeds`` folder does). Returns the folder's metadata."""
    from zoo.data.pipeline import make_dataset
    from zoo.io import atomic_write_json, atomic_write_text, sha256_file
    from zoo.weights import save_folder, writing_folder

    with writing_folder(folder) as tmp:
        per_task, sha = {}, {}
        for model, task, best_epoch in zip(copies, tasks, best_epochs):
            train_t, valid_t = task_subset(train_arr, task), task_subset(valid_arr, task)
            error = meta["valid"]["tasks"][str(task)]
            sub = f"task-{task}"
            golden = {k: np.asarray(v) for k, v in next(iter(make_dataset(valid_t, 8)))[0].items()}
            own = _task_seeds(seeds, task) if seeds else {}
            save_folder(model, vocab, os.path.join(tmp, sub), {
                **{k: v for k, v in meta.items() if k != "task_seeds"}, **own,
                "tag": f"{meta['tag']}/{sub}", "config": model.get_config(),
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


def _task_seeds(seeds, task):
    """A task's part of :func:`choose_per_task`'s summary, in the form of a ``--seeds`` folder's metadata
    (``seed`` the chosen one, ``seeds`` every copy), so that its card shows every seed."""
    own = seeds["tasks"][str(task)]
    errors = own["valid"]
    copies = [{"seed": seed, "best_epoch": epoch,
               "valid": {"tasks": {str(task): e}, "mean_error": e, "failed_tasks": [task] if e > 5.0 else []},
               **({"train_mean_error": own["train"][s]} if "train" in own else {})}
              for s, (seed, epoch, e) in enumerate(zip(seeds["seeds"], own["best_epoch"], errors))]
    return {"seed": seeds["seeds"][own["chosen"]],
            "seeds": {"copies": copies, "select": seeds["select"], "chosen": own["chosen"], "why": seeds["why"],
                      "valid_mean_error": {"mean": round(float(np.mean(errors)), 2),
                                           "std": round(float(np.std(errors)), 2),
                                           "min": min(errors), "max": max(errors)}}}
