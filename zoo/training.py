"""Paper training recipes as Keras compile settings and callbacks."""

import json
import os
import shutil
import time

import keras
import numpy as np

from zoo.io import atomic_write_json, atomic_write_text, check_writable_folder
from zoo.layers.memory_read import MemoryRead


# Every key a recipe may hold (see the registry's specs and RecipeSchedule).
RECIPE_KEYS = ("optimizer", "learning_rate", "loss_reduction", "batch_size", "epochs", "anneal_every",
               "anneal_factor", "clipnorm", "global_clipnorm", "linear_start", "linear_start_lr",
               "linear_start_patience", "linear_start_max", "noise", "memory_size", "jit_compile",
               "steps_per_execution", "xla_per_shape", "balance_tasks", "l2", "patience")


_CHOICES = {"optimizer": ("sgd", "adam"), "loss_reduction": ("sum", "sum_over_batch_size")}
_COUNTS = ("batch_size", "epochs", "anneal_every", "memory_size", "steps_per_execution", "linear_start_patience",
           "linear_start_max", "patience")
_SWITCHES = ("linear_start", "jit_compile", "xla_per_shape", "balance_tasks")


def check_recipe(recipe):
    """Raises ValueError naming the first recipe key whose value is out of its range."""
    unknown = sorted(set(recipe) - set(RECIPE_KEYS))
    if unknown:
        raise ValueError(f"unknown recipe key(s) {unknown}; valid: {', '.join(RECIPE_KEYS)}")

    def number(v):
        return not isinstance(v, bool) and isinstance(v, (int, float)) and np.isfinite(v)

    for key, value in recipe.items():
        if key in _CHOICES and value not in _CHOICES[key]:
            want = " or ".join(map(repr, _CHOICES[key]))
        elif key in _COUNTS and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            want = "an integer of 1 or more"
        elif key in _SWITCHES and not isinstance(value, bool):
            want = "true or false"
        elif key in ("learning_rate", "linear_start_lr") and not (number(value) and value > 0):
            want = "a number above 0"
        elif key in ("clipnorm", "global_clipnorm") and value is not None and not (number(value) and value > 0):
            want = "null or a number above 0"
        elif key == "anneal_factor" and not (number(value) and 0 < value <= 1):
            want = "a number in (0, 1]"
        elif key == "noise" and not (number(value) and 0 <= value <= 1):
            want = "a number in [0, 1]"
        elif key == "l2" and not (number(value) and value >= 0):
            want = "a number of 0 or more"
        else:
            continue
        raise ValueError(f"recipe key {key!r} must be {want}, got {value!r}")


def set_softmax(model, on):
    """Switches the softmax of every MemoryRead layer on (1) or off (0), in nested models too."""
    for layer in model._flatten_layers(include_self=False, recursive=True):
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
    if recipe.get("xla_per_shape"):
        xla_per_shape(model)
    return model


def xla_per_shape(model):
    """Makes ``fit`` run one XLA-compiled training step per batch shape (the recipe key ``xla_per_shape``);
    call after ``compile``. ``evaluate`` and ``predict`` stay as compiled (without XLA unless ``jit_compile``).

    Keras traces one step for all shapes, their dimensions unknown, inside a loop over
    ``steps_per_execution`` batches. Here each shape but the batch size (a length bucket of the pipeline)
    gets its own step, in which the story's number of sentences is known, and Python feeds it
    ``steps_per_execution`` batches in turn. That lets XLA compile the loop of a recurrence over the
    sentences, whose gradient it does not compile with unknown shapes; the compiled steps trained
    EntNet and W-MemNN faster (README: Tests and benchmarks). The first epoch pays one compilation per
    bucket.
    """
    import tensorflow as tf
    from keras import tree

    steps = {}

    def step_for(data):
        key = tuple((tuple(t.shape[1:]), t.dtype) for t in tree.flatten(data))
        if key not in steps:
            signature = tree.map_structure(lambda t: tf.TensorSpec([None] + list(t.shape[1:]), t.dtype), data)
            steps[key] = tf.function(model.train_step, input_signature=[signature], jit_compile=True,
                                     reduce_retracing=False)
            # Traced here, not in its first call: TensorFlow would count the steps' traces as one function's
            # and warn that it retraces often, where a step per shape is the intent.
            steps[key].get_concrete_function(signature)
        return steps[key]

    def train_function(iterator):
        logs = None
        for _ in range(model.steps_per_execution):
            try:
                data = next(iterator)
            except StopIteration:
                if logs is None:
                    raise
                break
            if isinstance(data, tuple):  # (x, y, None): no sample weights
                data = tuple(part for part in data if part is not None)
            logs = step_for(data)(data)
        return logs

    def make_train_function(force=False):
        model.train_function = train_function
        return train_function

    object.__setattr__(model, "make_train_function", make_train_function)
    model.train_function = None
    return model


class Backup(keras.callbacks.Callback):
    """A checkpoint of every epoch, whole or absent, and the resume from it.

    After epoch K, ``folder/epoch-K/`` gets the weights (with the optimizer's
    state), the schedule's state and the best weights so far, written in a
    temporary folder and renamed; then the file ``folder/latest`` names it and
    older checkpoints are removed. A run killed at any instant resumes from
    the newest whole checkpoint, its schedule and best weights as they were
    at that epoch. Runs started before this form (a ``latest.weights.h5`` of
    ``keras.callbacks.BackupAndRestore`` and ``state.json`` beside the
    folder) resume too. Must come after the schedule in the callbacks, so
    that it saves the schedule's state of the epoch.
    """

    def __init__(self, folder, schedule):
        super().__init__()
        self.folder = folder
        self.schedule = schedule

    @staticmethod
    def checkpoint(folder, state_path):
        """The newest whole checkpoint in ``folder``: ``(weights, saved, best)``, with ``saved`` holding the
        epoch and the schedule's state and ``best`` the best weights' file or None; None for a new run."""
        if os.path.exists(os.path.join(folder, "latest")):
            with open(os.path.join(folder, "latest")) as f:
                checkpoint = os.path.join(folder, f.read().strip())
            with open(os.path.join(checkpoint, "state.json")) as f:
                saved = json.load(f)
            best = os.path.join(checkpoint, "best.weights.h5")
            return os.path.join(checkpoint, "model.weights.h5"), saved, best if os.path.exists(best) else None
        if os.path.exists(os.path.join(folder, "latest.weights.h5")):  # keras.callbacks.BackupAndRestore's form
            with open(os.path.join(folder, "training_metadata.json")) as f:
                epoch = json.load(f)["epoch"]
            with open(state_path) as f:
                return os.path.join(folder, "latest.weights.h5"), {"epoch": epoch, "schedule": json.load(f)}, None
        return None

    def on_train_begin(self, logs=None):
        found = self.checkpoint(self.folder, self.schedule.state_path)
        if found is None:
            return
        weights, saved, _ = found
        for path in self.schedule.best_files():
            kept = os.path.join(os.path.dirname(weights), os.path.basename(path))
            if os.path.exists(kept):
                shutil.copyfile(kept, path + ".tmp.weights.h5")
                os.replace(path + ".tmp.weights.h5", path)
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self.model.load_weights(weights)
        self.schedule.restore(saved["schedule"])
        self.model._initial_epoch = saved["epoch"]
        print(f"resumed after epoch {saved['epoch']} from {os.path.dirname(weights)}")

    def on_epoch_end(self, epoch, logs=None):
        name = f"epoch-{epoch + 1:04d}"
        os.makedirs(self.folder, exist_ok=True)
        tmp = os.path.join(self.folder, ".tmp-" + name)
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        self.model.save_weights(os.path.join(tmp, "model.weights.h5"))
        atomic_write_json(os.path.join(tmp, "state.json"), {"epoch": epoch + 1, "schedule": self.schedule.state})
        for path in self.schedule.best_files():
            if os.path.exists(path):
                os.link(path, os.path.join(tmp, os.path.basename(path)))  # the file of this epoch
        final = os.path.join(self.folder, name)
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        atomic_write_text(os.path.join(self.folder, "latest"), name + "\n")
        for entry in os.listdir(self.folder):
            if entry != name and (entry.startswith("epoch-") or entry.startswith(".tmp-")):
                shutil.rmtree(os.path.join(self.folder, entry), ignore_errors=True)
            elif entry in ("latest.weights.h5", "training_metadata.json"):  # the legacy form, now superseded
                os.remove(os.path.join(self.folder, entry))


class RecipeSchedule(keras.callbacks.Callback):
    """Linear start, learning-rate annealing and the best checkpoint, in one.

    Linear start (Sukhbaatar et al. 2015, Sec. 4.2): training begins with the
    softmax of every memory read removed, at ``linear_start_lr``; when the
    validation loss stops falling (``linear_start_patience`` epochs without a
    new best, ``linear_start_max`` epochs at most) the softmax is restored.
    Then ``epochs`` epochs follow, the learning rate halved every
    ``anneal_every`` of them. The weights with the best
    validation accuracy (softmax on) are saved to ``best_path``.

    The state (including the training time so far) is saved with each
    epoch's checkpoint by :class:`Backup` (and, for reading, in ``state_path``),
    so that a resumed run picks up where it stopped.
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
        else:
            self.keep_best(epoch, logs, val_acc, val_loss)
        if s["ls_end"] is not None and epoch + 1 - s["ls_end"] >= self.recipe["epochs"]:
            self.model.stop_training = True
        patience = self.recipe.get("patience")
        if patience and s["best_epoch"] is not None and epoch + 1 - s["best_epoch"] >= patience:
            print(f"\nno better epoch on valid in {patience} epochs: early stop after epoch {epoch + 1}")
            self.model.stop_training = True
        atomic_write_json(self.state_path, s)

    def keep_best(self, epoch, logs, val_acc, val_loss):
        """Saves the weights to ``best_path`` when the epoch is the best on valid so far."""
        s = self.state
        if (val_acc, -val_loss) > (s["best_acc"], -s["best_loss"]):
            s["best_acc"], s["best_loss"], s["best_epoch"] = float(val_acc), float(val_loss), epoch + 1
            self.model.save_weights(self.best_path + ".tmp.weights.h5")
            os.replace(self.best_path + ".tmp.weights.h5", self.best_path)

    def best_files(self):
        """The files of the best weights, kept with each checkpoint by :class:`Backup`."""
        return [self.best_path]

    def restore(self, state):
        self.state.update(state)

    def total_epochs(self):
        return self.recipe["epochs"] + (self.linear_start_max if self.recipe.get("linear_start") else 0)


def predict_ids(model, arrays, batch_size=256):
    """Answer ids for every example, in the examples' order: [examples], or [copies, examples] for a model
    whose logits have a leading axis of copies (:class:`zoo.seeds.SeedStack`)."""
    from zoo.data.pipeline import eval_order, make_dataset

    ds = make_dataset(arrays, batch_size=batch_size)
    order = eval_order(arrays, batch_size)
    pred = None
    done = 0
    for inputs, _ in ds:
        ids = np.argmax(model.predict_on_batch(inputs), axis=-1)
        if pred is None:
            pred = np.empty(ids.shape[:-1] + (len(order),), np.int32)
        n = ids.shape[-1]
        pred[..., order[done:done + n]] = ids
        done += n
    return pred


def errors_of(pred, arrays):
    """Error in percent per bAbI task of answer ids ``pred``, the mean, and the failed tasks (> 5%)."""
    wrong = pred != arrays["answer"]
    tasks = {str(t): round(100.0 * float(wrong[arrays["task"] == t].mean()), 2) for t in np.unique(arrays["task"])}
    mean = round(float(np.mean(list(tasks.values()))), 2)
    return {"tasks": tasks, "mean_error": mean, "failed_tasks": sorted((int(t) for t, e in tasks.items() if e > 5.0))}


def task_errors(model, arrays, batch_size=256):
    """Error in percent per bAbI task, the mean, and the failed tasks (> 5%)."""
    return errors_of(predict_ids(model, arrays, batch_size), arrays)


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


def babi_examples(data_dir, size, tasks):
    """Train and valid examples of a bAbI size, its folder and notes.

    A task whose training file is missing (task 3 of the 10k data in the
    shared copy) is trained on the 1k file of the same task (``en``), less
    every question whose story also appears in the valid split, and a note
    says so.
    """
    from zoo.data.babi import load_split, resolve_folder

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
    return train_ex, valid_ex, folder, notes


def to_arrays(train_ex, valid_ex, memory_size, vocab=None):
    """Train and valid arrays and the vocabulary (built from the training examples unless given)."""
    from zoo.data.pipeline import vectorize
    from zoo.data.vocab import Vocabulary

    vocab = vocab or Vocabulary.from_examples(train_ex)
    train = vectorize(train_ex, vocab, memory_size)
    valid = vectorize(valid_ex, vocab, memory_size, sentence_size=train["story"].shape[2],
                      query_size=train["query"].shape[1])
    return train, valid, vocab


def unknown_words(examples, vocab):
    """Words of ``examples`` that ``vocab`` lacks, how many questions read one, and the unknown answers."""
    words, questions = set(), 0
    for ex in examples:
        missing = {w for s in ex.story for w in s if w not in vocab.index} | \
            {w for w in ex.query if w not in vocab.index}
        words |= missing
        questions += bool(missing)
    answers = sorted({ex.answer for ex in examples if ex.answer not in vocab.index})
    return sorted(words), questions, answers


def load_babi(data_dir, size, tasks, memory_size):
    """Train and valid arrays of a bAbI size, the vocabulary, the folder and notes (see :func:`babi_examples`)."""
    train_ex, valid_ex, folder, notes = babi_examples(data_dir, size, tasks)
    train, valid, vocab = to_arrays(train_ex, valid_ex, memory_size)
    return train, valid, vocab, folder, notes


def check_same_run(path, settings, finished=False):
    """A resumed run must have the settings it started with: writes them at the start, compares them after."""
    settings = json.loads(json.dumps(settings))  # tuples -> lists, as they come back from the file
    if not os.path.exists(path):
        atomic_write_json(path, settings)
        return
    with open(path) as f:
        started = json.load(f)
    differ = []
    for key in sorted(set(started) | set(settings)):
        old, new = started.get(key), settings.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            differ += [f"{key}.{k}: {new.get(k)!r} (started with {old.get(k)!r})"
                       for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        elif old != new:
            differ.append(f"{key}: {new!r} (started with {old!r})")
    if differ and finished:
        raise FileExistsError(f"{os.path.join(os.path.dirname(path), 'weights')} already holds finished weights "
                              f"of a run with other settings; choose another --out. Differs: " + "; ".join(differ))
    if differ:
        raise ValueError(f"{os.path.dirname(path)} holds a run started with other settings; resume it with the "
                         f"same ones or choose another --out. Differs: " + "; ".join(differ))


def train(name, data_dir, size="1k", tasks="all", out="runs/run", epochs=None, seed=0,
          recipe_overrides=None, config_overrides=None, verbose=2, command="", train_files=None,
          valid_files=None, test_files=None, init_weights=None, seeds=1, select=None, per_task=False):
    """Trains a registered model on bAbI with its paper recipe.

    Checkpoints to ``out/backup`` every epoch and resumes from there when
    started again with the same ``out``; logs to TensorBoard in ``out/logs``.
    At the end ``out/weights`` is a complete weight folder (best epoch on
    valid), loadable with ``zoo.load(name, weights=out + "/weights")``.

    ``train_files`` and ``valid_files`` (paths, a list or comma-separated;
    ``size`` and ``tasks`` then unused) train on bAbI-format files of any
    names instead of a bAbI folder; ``test_files`` are scored at the end
    (not used for choosing). ``init_weights`` (a shipped tag or a weight
    folder) starts from those weights, with their config and vocabulary:
    words of the new data unknown to it read as ``<unk>``, and a note says
    how many.

    ``seeds`` > 1 trains that many copies together in one graph
    (:mod:`zoo.seeds`), copy i initialised as a single run with seed
    ``seed + i``, and ships the one that ``select`` chooses (``"train"``:
    lowest training error, ``"valid"``: lowest valid error; default: the
    paper's, ``spec.select``); the metadata lists every copy's errors.

    ``per_task`` trains one model per bAbI task in one graph
    (:mod:`zoo.per_task`; each fed only its task's batches, each chosen at
    its own best epoch on its task's valid questions) and writes a per-task
    folder (tag ``babi-SIZE-per-task``) from which ``zoo.load(...,
    task=T)`` loads task T's model.
    """
    import platform

    from zoo.data.babi import load_files, parse_tasks
    from zoo.data.pipeline import make_dataset
    from zoo.registry import get_spec
    from zoo.io import sha256_file
    from zoo.weights import load_folder, model_card, read_metadata, resolve, save_folder

    spec = get_spec(name)
    recipe = {**spec.recipe, **(recipe_overrides or {})}
    if epochs is not None:
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be an integer of 1 or more, got {epochs!r}")
        recipe["epochs"] = epochs
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2 ** 32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    if isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= 2 ** 32 - seed:
        raise ValueError(f"seeds (copies trained together) must be an integer of 1 or more, got {seeds!r}")
    if select is not None and seeds == 1:
        raise ValueError(f"select={select!r} chooses among several copies; it needs seeds of 2 or more (--seeds N)")
    select = spec.select if select is None else select
    if select not in ("train", "valid"):
        raise ValueError(f"select must be 'train' (lowest training error) or 'valid' (lowest valid error), "
                         f"got {select!r}")
    if seeds > 1 and init_weights is not None:
        raise ValueError(f"seeds={seeds} with starting weights {init_weights!r} (--weights): every copy would start "
                         f"from the same weights; train several seeds from scratch or fine-tune one")
    if per_task and init_weights is not None:
        raise ValueError(f"per_task (--per-task) trains one model per task from scratch; it does not combine with "
                         f"starting weights {init_weights!r} (--weights)")
    seed_list = list(range(seed, seed + seeds))
    init = None
    if init_weights is not None:
        if config_overrides:
            raise ValueError(f"config overrides {sorted(config_overrides)} do not apply when starting from weights "
                             f"{init_weights!r} (--weights): their config is fixed")
        init_folder = resolve(name, init_weights)
        init_model, _ = load_folder(name, init_folder)
        config = {k: v for k, v in init_model.get_config().items() if k != "name"}
        if (recipe_overrides or {}).get("memory_size", config["memory_size"]) != config["memory_size"]:
            raise ValueError(f"recipe key 'memory_size' is {recipe['memory_size']}, but weights {init_weights!r} "
                             f"have a memory of {config['memory_size']} sentences")
        recipe["memory_size"] = config["memory_size"]
        if "linear_start" not in (recipe_overrides or {}):  # trained weights need no linear start; it undoes them
            recipe["linear_start"] = False
        init = {"weights": os.fspath(init_weights), "folder": os.path.abspath(init_folder),
                "sha256": sha256_file(os.path.join(init_folder, "model.weights.h5"))}
    else:
        config = {**spec.default_config, **(config_overrides or {}), "memory_size": recipe["memory_size"]}
    check_recipe(recipe)
    spec.check_config(config)
    final = os.path.join(out, "weights")
    finished = os.path.exists(os.path.join(final, "metadata.json"))
    if finished and not os.path.exists(os.path.join(out, "run.json")):
        raise FileExistsError(f"{final} already holds finished weights; choose another --out")
    check_writable_folder(out, "out")
    keras.utils.set_random_seed(seed)
    if train_files is not None or valid_files is not None:
        if train_files is None or valid_files is None:
            raise ValueError("training files and valid files go together (--train FILE[,FILE...] --valid "
                             "FILE[,FILE...]): the best epoch is chosen on the valid files")
        train_ex, train_tasks = load_files(train_files, "--train")
        valid_ex, valid_tasks = load_files(valid_files, "--valid")
        folder, notes = None, []
        data = {"folder": None, "files": {"train": train_tasks, "valid": valid_tasks},
                "tasks": sorted(set(train_tasks.values()) | set(valid_tasks.values()))}
    else:
        train_ex, valid_ex, folder, notes = babi_examples(data_dir, size, tasks)
        data = {"folder": folder, "tasks": list(parse_tasks(tasks))}
    test_ex = load_files(test_files, "--test")[0] if test_files is not None else None
    if init is not None:
        unknown, questions, answers = unknown_words(train_ex + valid_ex, init_model.vocab)
        note = (f"started from weights {init['weights']} ({init['folder']}) with their vocabulary of "
                f"{len(init_model.vocab)} words: {len(unknown)} words of the new data are unknown to it and read as "
                f"<unk> (in {questions} of {len(train_ex) + len(valid_ex)} questions)"
                + (f": {', '.join(unknown[:20])}{' ...' if len(unknown) > 20 else ''}" if unknown else "")
                + (f"; {len(answers)} answers are unknown to it and cannot be given: {', '.join(answers[:20])}"
                   if answers else ""))
        print(note)
        notes.append(note)
    train_arr, valid_arr, vocab = to_arrays(train_ex, valid_ex, recipe["memory_size"],
                                            init_model.vocab if init is not None else None)
    data.update(train_examples=int(len(train_arr["answer"])), valid_examples=int(len(valid_arr["answer"])))
    check_same_run(os.path.join(out, "run.json"), {
        "model": name, "data": {**data, "vocabulary": len(vocab)},
        "config": config, "recipe": recipe, "seed": seed, **({"init": init} if init else {}),
        **({"seeds": seed_list, "select": select} if seeds > 1 else {}),
        **({"per_task": True} if per_task else {})}, finished=finished)
    if finished:  # the same run, already done (perhaps killed after its last write): its result
        print(f"{final} already holds the finished weights of this run")
        meta = read_metadata(final)
        return (None if per_task else load_folder(name, final)[0]), meta
    task_list = sorted(int(t) for t in np.unique(train_arr["task"]))
    if per_task and not set(np.unique(valid_arr["task"]).tolist()) <= set(task_list):
        raise ValueError(f"per_task: valid tasks {sorted(set(np.unique(valid_arr['task']).tolist()) - set(task_list))} "
                         f"have no training questions, so no model of their own")
    unbalanced = train_arr
    if recipe.get("balance_tasks"):
        train_arr, repeats = balance_tasks(train_arr)
        notes += [f"task {t}: its training questions repeated {r} times (recipe balance_tasks)"
                  for t, r in repeats.items()]
    best = os.path.join(out, "best.weights.h5")
    if per_task:
        from zoo.per_task import build_task_stack
        from zoo.seeds import StackSchedule

        model = build_task_stack(spec, {**config, "vocab_size": len(vocab)}, recipe, task_list, seed, seeds)
        schedule = StackSchedule(recipe, best, os.path.join(out, "state.json"), len(model.copies))
    elif seeds > 1:
        from zoo.seeds import StackSchedule, build_stack, choose_copy

        model = build_stack(spec, {**config, "vocab_size": len(vocab)}, recipe, seed_list)
        schedule = StackSchedule(recipe, best, os.path.join(out, "state.json"), seeds)
    else:
        model = compile_model(spec.build(**{**config, "vocab_size": len(vocab)}), recipe)
        schedule = RecipeSchedule(recipe, best, os.path.join(out, "state.json"))
    found = Backup.checkpoint(os.path.join(out, "backup"), os.path.join(out, "state.json"))
    if init is not None and not found:  # a resumed run reads its own checkpoint instead
        model.set_weights(init_model.get_weights())
    resumed_after = found[1]["epoch"] if found else 0
    train_ds = make_dataset(train_arr, recipe["batch_size"], shuffle=True, noise=recipe.get("noise", 0.0),
                            seed=seed, memory_size=recipe["memory_size"], with_supporting=spec.supporting_facts,
                            first_epoch=resumed_after, by_task=per_task)
    valid_ds = make_dataset(valid_arr, 256, with_supporting=spec.supporting_facts, by_task=per_task)
    callbacks = [
        schedule,
        Backup(os.path.join(out, "backup"), schedule),
        keras.callbacks.CSVLogger(os.path.join(out, "log.csv"), append=True),
        keras.callbacks.TensorBoard(os.path.join(out, "logs"), write_graph=False),
    ]
    # The dataset shuffles itself each epoch; fit's shuffle=True (its default) only warns about a dataset.
    model.fit(train_ds, validation_data=valid_ds, epochs=schedule.total_epochs(), callbacks=callbacks,
              verbose=verbose, shuffle=False)
    best_epoch, chosen, task_seeds = schedule.state["best_epoch"], None, None
    if per_task:
        from zoo.per_task import choose_per_task, per_task_errors

        stack = model
        if seeds > 1:
            index, task_seeds = choose_per_task(stack, schedule, valid_arr, unbalanced, select, seed_list)
            spread = task_seeds["valid_mean_error"]
            notes.append(f"{seeds} copies per task (seeds {seed_list[0]}-{seed_list[-1]}), all trained on their "
                         f"task's batches in the same graph; for each task the copy of {task_seeds['why']} is "
                         f"shipped; each seed's models over the tasks: valid mean error {spread['mean']} +- "
                         f"{spread['std']} % (min {spread['min']}, max {spread['max']})")
        else:
            for copy, path in zip(stack.copies, schedule.best_files()):
                copy.load_weights(path)
            index = list(range(len(stack.copies)))
        copies = [stack.copies[i] for i in index]
        best_epochs = [schedule.state["copies"][i]["best_epoch"] for i in index]
        result = per_task_errors(copies, stack.tasks, valid_arr)
    elif seeds > 1:
        index, chosen = choose_copy(model, schedule, valid_arr, unbalanced, select, seed_list)
        model, seed, best_epoch = model.copies[index], seed_list[index], chosen["copies"][index]["best_epoch"]
        result = chosen["copies"][index]["valid"]
        notes.append(f"best of {seeds} copies (seeds {seed_list[0]}-{seed_list[-1]}) trained together in one graph "
                     f"(zoo.seeds; same batches and data noise for all): copy {index} (seed {seed}) chosen by "
                     f"{chosen['why']}; valid mean error over the copies {chosen['valid_mean_error']['mean']} +- "
                     f"{chosen['valid_mean_error']['std']} % (min {chosen['valid_mean_error']['min']}, max "
                     f"{chosen['valid_mean_error']['max']}); the training time is that of all copies together")
    else:
        model.load_weights(best)
        result = task_errors(model, valid_arr)
    tag = os.path.basename(os.path.abspath(out)) if folder is None else f"babi-{size}" if size in ("1k", "10k") else folder
    if per_task:
        tag += "-per-task" if folder is not None else ""
        notes.append(f"one model per task ({len(task_list)} tasks), trained in one graph (zoo.per_task): each "
                     f"copy is trained only on its task's batches, with its own optimizer, and chosen at its best "
                     f"epoch on its task's valid questions; all start from the same initial weights (seed {seed}"
                     f"{'' if seeds == 1 else ' + s for copy s of each task'}) and share the learning-rate schedule; "
                     f"the training time is that of all of them together")
    meta = {
        "model": name, "tag": tag, "paper": spec.paper,
        "config": (copies[0] if per_task else model).get_config(),
        "parameters": int((copies[0] if per_task else model).count_params()), "data": data,
        "recipe": recipe, "seed": seed, **({"init": init} if init else {}),
        "supervision": spec.supervision, "best_epoch": best_epoch, **({"seeds": chosen} if chosen else {}),
        **({"task_seeds": task_seeds} if task_seeds else {}),
        "train_seconds": round(schedule.state["train_seconds"], 1), "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "valid": result, "vocab_size": len(vocab), "notes": notes, "command": command,
        "versions": {"keras": keras.__version__, "tensorflow": __import__("tensorflow").__version__},
    }
    if test_ex is not None:
        from zoo.data.pipeline import vectorize

        test_arr = vectorize(test_ex, vocab, recipe["memory_size"])
        meta["test"] = (per_task_errors(copies, stack.tasks, test_arr) if per_task
                        else task_errors(model, test_arr))
    if per_task:
        from zoo.per_task import save_per_task

        return None, save_per_task(copies, stack.tasks, best_epochs, vocab, final, meta, unbalanced, valid_arr,
                                   model_card, seeds=task_seeds)
    golden = {k: v[:8] for k, v in next(iter(make_dataset(valid_arr, 8)))[0].items()}
    golden = {k: np.asarray(v) for k, v in golden.items()}
    save_folder(model, vocab, final, meta, golden_inputs=golden, card=model_card)
    return model, meta
