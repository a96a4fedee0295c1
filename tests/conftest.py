import contextlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import pytest  # noqa: E402

SHARED_BABI = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data",
                           "babi", "tasks_1-20_v1-2")

STORY_1 = """1 Mary moved to the bathroom.
2 John went to the hallway.
3 Where is Mary?\tbathroom\t1
4 Daniel went back to the hallway.
5 Sandra moved to the garden.
6 Where is Daniel?\thallway\t4
1 Sandra travelled to the office.
2 Sandra went to the bathroom.
3 Where is Sandra?\tbathroom\t2
"""

STORY_19 = """1 The office is east of the hallway.
2 The kitchen is north of the office.
3 How do you go from the kitchen to the hallway?\ts,w\t2 1
"""


def _write_babi(root, folder, task, split, text, name=None):
    d = os.path.join(root, folder)
    os.makedirs(d, exist_ok=True)
    fname = f"qa{task}_{split}.txt" if folder.startswith("en-valid") else f"qa{task}_{name or 'task'}_{split}.txt"
    path = os.path.join(d, fname)
    with open(path, "w") as f:
        f.write(text)
    return path


# A tiny MemN2N for the CLI's training tests: one epoch of linear start, no XLA.
TINY = ['--config', '{"dim": 8, "hops": 2}', '--recipe', '{"linear_start_max": 1, "jit_compile": false}']


def write_tiny_tree(root):
    """Tasks 1 and 19 of en-valid, train and valid, in ``root``: the tree the CLI's training tests read."""
    for split in ("train", "valid"):
        _write_babi(root, "en-valid", 1, split, STORY_1 * 6)
        _write_babi(root, "en-valid", 19, split, STORY_19 * 4)
    return root


@contextlib.contextmanager
def stopping_once_at_epoch(epoch):
    """While open, the first training run to reach ``epoch`` is stopped there (KeyboardInterrupt, as a run
    killed mid-way); later runs go on."""
    from zoo import training

    original = training.RecipeSchedule.on_epoch_begin
    stopped = []

    def interrupting(self, at, logs=None):
        if at == epoch and not stopped:
            stopped.append(at)
            raise KeyboardInterrupt
        original(self, at, logs)

    training.RecipeSchedule.on_epoch_begin = interrupting
    try:
        yield
    finally:
        training.RecipeSchedule.on_epoch_begin = original


@pytest.fixture
def babi_dir(tmp_path):
    """A small bAbI tree in the official layout: tasks 1 and 19 of en-valid, task 1 of en."""
    root = str(tmp_path / "babi")
    for split in ("train", "valid"):
        _write_babi(root, "en-valid", 1, split, STORY_1 * (6 if split == "train" else 2))
        _write_babi(root, "en-valid", 19, split, STORY_19 * (4 if split == "train" else 1))
    _write_babi(root, "en", 1, "train", STORY_1, name="single-supporting-fact")
    return root


def bare_python(folder):
    """A fresh venv's python in ``folder`` that has this environment's packages (through a .pth line) but not
    their .pth hooks: the editable install of zoo that setup.sh makes is absent from it."""
    import subprocess
    import sysconfig

    venv = os.path.join(folder, "venv")
    if not os.path.exists(venv):
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
        python = os.path.join(venv, "bin", "python")
        site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              check=True, capture_output=True, text=True).stdout.strip()
        with open(os.path.join(site, "deps.pth"), "w") as f:
            f.write(sysconfig.get_paths()["purelib"] + "\n")
    return os.path.join(venv, "bin", "python")


@pytest.fixture(scope="session")
def python_without_zoo(tmp_path_factory):
    return bare_python(str(tmp_path_factory.mktemp("bare")))
