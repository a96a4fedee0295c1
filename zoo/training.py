"""Paper training recipes as Keras compile settings and callbacks."""

import json
import os
import time

import keras
import numpy as np

from zoo.io import atomic_write_json
from zoo.layers.memory_read import MemoryRead


# Every key a recipe may hold (see the registry's specs and RecipeSchedule).
RECIPE_KEYS = ("optimizer", "learning_rate", "loss_reduction", "batch_size", "epochs", "anneal_every",
               "anneal_factor", "clipnorm", "global_clipnorm", "linear_start", "linear_start_lr",
               "linear_start_patience", "linear_start_max", "noise", "memory_size", "jit_compile",
               "steps_per_execution", "balance_tasks", "l2", "patience")


def set_softmax(model, on):
    """Switches the softmax of every MemoryRead layer on (1) or off (0)."""
    for layer in model.layers:
        if isinstance(layer, MemoryRead):
            layer.softmax_on.assign(1.0 if on else 0.0)


def make_optimizer(recipe):
    """The recipe's optimizer. ``clipnorm`` clips the gradient of each variable
    on its own, as the MemN2N code does for each weight matrix;
    ``global_clipnorm`` clips them all together."""
    optimizers = {"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam}
    name = recipe.get("optimizer", "sgd")
    if name not in optimizers:
        raise ValueError(f"unknown optimizer {name!r}; valid: {', '.join(optimizers)}")
    return optimizers[name](recipe["learning_rate"], clipnorm=recipe.get("clipnorm"),
                            global_clipnorm=recipe.get("global_clipnorm"))


def compile_model(model, recipe):
    object.__setattr__(model, "l2", float(recipe.get("l2", 0.0)))
    model.compile(
        optimizer=make_optimizer(recipe),
        # The paper's code sums the loss over the batch (its learning rates
        # assume it); "sum_over_batch_size" would divide them by 32.
        loss=keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction=recipe.get("loss_reduction", "sum_over_batch_size")),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=recipe.get("jit_compile", False),
        steps_per_execution=recipe.get("steps_per_execution", 1),
    )
    return model


class RecipeSchedule(keras.callbacks.Callback):
    """Linear start, learning-rate annealing and the best checkpoint, in one.

    Linear start (Sukhbaatar et al. 2015, Sec. 4.2): training begins with the
    softmax of every memory read removed, at ``linear_start_lr``; when the
    validation loss stops falling (``linear_start_patience`` epochs without a
    new best, ``linear_start_max`` epochs at most) the softmax is restored.
    Then ``epochs`` epochs follow, the learning rate halved every
    ``anneal_every`` of them. The weights with the best
    validation accuracy (softmax on) are saved to ``best_path``.

    The state (including the training time so far) is kept in ``state_path``
    (JSON) so that a run resumed by ``keras.callbacks.BackupAndRestore`` picks
    up where it stopped.
    """

    def __init__(self, recipe, best_path, state_path):
        super().__init__()
        self.recipe = recipe
        self.best_path = best_path
        self.state_path = state_path
        self.linear_start_max = recipe.get("linear_start_max", 20)
        self.patience = recipe.get("linear_start_patience", 1)
        self.state = {"ls_end": None if recipe.get("linear_start") else 0, "ls_best": float("inf"),
                      "ls_bad": 0, "best_acc": -1.0, "best_loss": float("inf"), "best_epoch": None,
                      "train_seconds": 0.0}
        if os.path.exists(state_path):
            with open(state_path) as f:
                self.state.update(json.load(f))

    def _lr(self, epoch):
        r = self.recipe
        if self.state["ls_end"] is None:
            return r.get("linear_start_lr", r["learning_rate"])
        halvings = (epoch - self.state["ls_end"]) // r.get("anneal_every", 10 ** 9)
        return r["learning_rate"] * r.get("anneal_factor", 0.5) ** halvings

    def on_train_begin(self, logs=None):
        set_softmax(self.model, self.state["ls_end"] is not None)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()
        self.model.optimizer.learning_rate.assign(self._lr(epoch))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        logs["learning_rate"] = float(self._lr(epoch))
        logs["softmax_on"] = float(self.state["ls_end"] is not None)
        val_loss = logs.get("val_loss", logs.get("loss"))
        val_acc = logs.get("val_accuracy", logs.get("accuracy"))
        s = self.state
        s["train_seconds"] = s.get("train_seconds", 0.0) + time.perf_counter() - self._epoch_start
        if s["ls_end"] is None:
            if val_loss < s["ls_best"]:
                s["ls_best"], s["ls_bad"] = val_loss, 0
            else:
                s["ls_bad"] += 1
            if s["ls_bad"] >= self.patience or epoch + 1 >= self.linear_start_max:
                s["ls_end"] = epoch + 1
                set_softmax(self.model, True)
                print(f"\nlinear start ends after epoch {epoch + 1}: softmax restored")
        elif (val_acc, -val_loss) > (s["best_acc"], -s["best_loss"]):
            s["best_acc"], s["best_loss"], s["best_epoch"] = float(val_acc), float(val_loss), epoch + 1
            self.model.save_weights(self.best_path + ".tmp.weights.h5")
            os.replace(self.best_path + ".tmp.weights.h5", self.best_path)
        if s["ls_end"] is not None and epoch + 1 - s["ls_end"] >= self.recipe["epochs"]:
            self.model.stop_training = True
        patience = self.recipe.get("patience")
        if patience and s["best_epoch"] is not None and epoch + 1 - s["best_epoch"] >= patience:
            print(f"\nno better epoch on valid in {patience} epochs: early stop after epoch {epoch + 1}")
            self.model.stop_training = True
        atomic_write_json(self.state_path, s)

    def total_epochs(self):
        return self.recipe["epochs"] + (self.linear_start_max if self.recipe.get("linear_start") else 0)


def predict_ids(model, arrays, batch_size=256):
    """Answer ids for every example, in the examples' order."""
    from zoo.data.pipeline import eval_order, make_dataset

    ds = make_dataset(arrays, batch_size=batch_size)
    order = eval_order(arrays, batch_size)
    pred = np.empty(len(order), np.int32)
    done = 0
    for inputs, _ in ds:
        logits = model.predict_on_batch(inputs)
        n = len(logits)
        pred[order[done:done + n]] = np.argmax(logits, axis=-1)
        done += n
    return pred


def task_errors(model, arrays, batch_size=256):
    """Error in percent per bAbI task, the mean, and the failed tasks (> 5%)."""
    pred = predict_ids(model, arrays, batch_size)
    wrong = pred != arrays["answer"]
    tasks = {str(t): round(100.0 * float(wrong[arrays["task"] == t].mean()), 2) for t in np.unique(arrays["task"])}
    mean = round(float(np.mean(list(tasks.values()))), 2)
    return {"tasks": tasks, "mean_error": mean, "failed_tasks": sorted((int(t) for t, e in tasks.items() if e > 5.0))}


def balance_tasks(arrays):
    """Repeats the questions of each task that has fewer than the largest
    one, a whole number of times, so that every task has about as many.

    Joint 10k training in the shared data copy holds task 3 at its 1k size
    (its 10k file is missing): about a tenth of the questions of each
    other task.
    """
    tasks, task_of_row, counts = np.unique(arrays["task"], return_inverse=True, return_counts=True)
    times = counts.max() // counts  # at least 1
    index = np.repeat(np.arange(len(task_of_row)), times[task_of_row])
    return {k: v[index] for k, v in arrays.items()}, {int(t): int(r) for t, r in zip(tasks, times) if r > 1}


def load_babi(data_dir, size, tasks, memory_size):
    """Train and valid arrays of a bAbI size, the vocabulary and notes.

    A task whose training file is missing (task 3 of the 10k data in the
    shared copy) is trained on the 1k file of the same task (``en``), less
    every question whose story also appears in the valid split, and a note
    says so.
    """
    from zoo.data.babi import load_split, resolve_folder
    from zoo.data.pipeline import vectorize
    from zoo.data.vocab import Vocabulary

    folder = resolve_folder(size)
    train_ex, missing = load_split(data_dir, folder, tasks, "train", skip_missing=True)
    valid_ex, _ = load_split(data_dir, folder, tasks, "valid")
    notes = []
    if missing:
        seen = {(ex.story, ex.query) for ex in valid_ex}
        for task in missing:
            try:
                small, _ = load_split(data_dir, "en", [task], "train")
            except FileNotFoundError:
                notes.append(f"task {task}: no training file in {folder}; not trained, still evaluated")
                continue
            kept = [ex for ex in small if (ex.story, ex.query) not in seen]
            train_ex.extend(kept)
            notes.append(f"task {task}: no training file in {folder} (missing from the data copy); trained on "
                         f"the {len(kept)} questions of en/qa{task} train whose stories are not in the valid split "
                         f"({len(small) - len(kept)} dropped)")
    vocab = Vocabulary.from_examples(train_ex)
    train = vectorize(train_ex, vocab, memory_size)
    valid = vectorize(valid_ex, vocab, memory_size, sentence_size=train["story"].shape[2],
                      query_size=train["query"].shape[1])
    return train, valid, vocab, folder, notes


def train(name, data_dir, size="1k", tasks="all", out="runs/run", epochs=None, seed=0,
          recipe_overrides=None, config_overrides=None, verbose=2, command=""):
    """Trains a registered model on bAbI with its paper recipe.

    Checkpoints to ``out/backup`` every epoch and resumes from there when
    started again with the same ``out``; logs to TensorBoard in ``out/logs``.
    At the end ``out/weights`` is a complete weight folder (best epoch on
    valid), loadable with ``zoo.load(name, weights=out + "/weights")``.
    """
    import platform

    from zoo.data.babi import parse_tasks
    from zoo.data.pipeline import make_dataset
    from zoo.registry import get_spec
    from zoo.weights import model_card, save_folder

    spec = get_spec(name)
    unknown = sorted(set(recipe_overrides or {}) - set(RECIPE_KEYS))
    if unknown:
        raise ValueError(f"unknown recipe key(s) {unknown}; valid: {', '.join(RECIPE_KEYS)}")
    recipe = {**spec.recipe, **(recipe_overrides or {})}
    if epochs is not None:
        recipe["epochs"] = epochs
    final = os.path.join(out, "weights")
    if os.path.exists(os.path.join(final, "metadata.json")):
        raise FileExistsError(f"{final} already holds finished weights; choose another --out")
    os.makedirs(out, exist_ok=True)
    keras.utils.set_random_seed(seed)
    train_arr, valid_arr, vocab, folder, notes = load_babi(data_dir, size, tasks, recipe["memory_size"])
    if recipe.get("balance_tasks"):
        train_arr, repeats = balance_tasks(train_arr)
        notes += [f"task {t}: its training questions repeated {r} times (recipe balance_tasks)"
                  for t, r in repeats.items()]
    config = {**spec.default_config, **(config_overrides or {}), "vocab_size": len(vocab),
              "memory_size": recipe["memory_size"]}
    model = spec.build(**config)
    compile_model(model, recipe)
    train_ds = make_dataset(train_arr, recipe["batch_size"], shuffle=True, noise=recipe.get("noise", 0.0),
                            seed=seed, memory_size=recipe["memory_size"], with_supporting=spec.supporting_facts)
    valid_ds = make_dataset(valid_arr, 256, with_supporting=spec.supporting_facts)
    best = os.path.join(out, "best.weights.h5")
    schedule = RecipeSchedule(recipe, best, os.path.join(out, "state.json"))
    callbacks = [
        keras.callbacks.BackupAndRestore(os.path.join(out, "backup")),
        schedule,
        keras.callbacks.CSVLogger(os.path.join(out, "log.csv"), append=True),
        keras.callbacks.TensorBoard(os.path.join(out, "logs"), write_graph=False),
    ]
    model.fit(train_ds, validation_data=valid_ds, epochs=schedule.total_epochs(), callbacks=callbacks,
              verbose=verbose)
    model.load_weights(best)
    result = task_errors(model, valid_arr)
    meta = {
        "model": name, "tag": f"babi-{size}" if size in ("1k", "10k") else folder, "paper": spec.paper,
        "config": model.get_config(), "parameters": int(model.count_params()),
        "data": {"folder": folder, "tasks": list(parse_tasks(tasks)), "train_examples": int(len(train_arr["answer"])),
                 "valid_examples": int(len(valid_arr["answer"]))},
        "recipe": recipe, "seed": seed,
        "supervision": spec.supervision, "best_epoch": schedule.state["best_epoch"],
        "train_seconds": round(schedule.state["train_seconds"], 1), "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "valid": result, "vocab_size": len(vocab), "notes": notes, "command": command,
        "versions": {"keras": keras.__version__, "tensorflow": __import__("tensorflow").__version__},
    }
    golden = {k: v[:8] for k, v in next(iter(make_dataset(valid_arr, 8)))[0].items()}
    golden = {k: np.asarray(v) for k, v in golden.items()}
    save_folder(model, vocab, final, meta, golden_inputs=golden, card=model_card)
    return model, meta
