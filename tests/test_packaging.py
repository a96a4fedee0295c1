"""The zoo as an installed package: a wheel built from the checkout works from a folder outside it."""

import glob
import os
import shutil
import subprocess
import sys

import pytest

from tests.conftest import bare_python

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A fresh venv with the wheel installed (no checkout on its path); the pinned dependencies are this
    environment's, reached through a .pth file, so the test needs no network."""
    tmp = tmp_path_factory.mktemp("pkg")
    wheels, source = tmp / "wheels", tmp / "source"  # built from a copy: the build leaves nothing in the checkout
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "runs", "exports", "build",
                                                                  "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(source)], check=True, capture_output=True)
    (wheel,) = glob.glob(str(wheels / "*.whl"))
    python = bare_python(str(tmp))
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel], check=True,
                   capture_output=True)
    outside = tmp / "elsewhere"
    outside.mkdir()
    return python, str(outside), os.path.basename(wheel)


def run(python, cwd, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BABI_DIR")}
    return subprocess.run([python, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_wheel_name_and_demo_from_outside_the_checkout(installed):
    python, outside, wheel = installed
    assert wheel.startswith("keras_memnet_zoo-")
    done = run(python, outside, "-m", "zoo", "demo")
    assert done.returncode == 0, done.stderr[-2000:]
    answers = [line.split("A:")[1].split()[0] for line in done.stdout.splitlines() if line.startswith("Q:")]
    import zoo
    from zoo.__main__ import DEMO_ANSWERS, DEMO_QUESTIONS, DEMO_STORY

    model = zoo.load("memn2n", weights="babi-1k", compile=False)  # the checkout's copy of the same weights
    assert answers == [model.answer(DEMO_STORY, q)["answer"] for q in DEMO_QUESTIONS]
    assert answers[0] == "kitchen"
    verdicts = [line.split("(")[1].split(";")[0] for line in done.stdout.splitlines() if line.startswith("Q:")]
    assert verdicts == ["right" if a == t else f"wrong, the story says {t}" for a, t in zip(answers, DEMO_ANSWERS)]
    done = run(python, outside, "-m", "zoo", "list")  # the CLI finds every shipped folder from outside
    assert done.returncode == 0 and "entnet babi-10k babi-1k" in done.stdout


def test_installed_zoo_loads_shipped_weights_as_package_data(installed):
    python, outside, _ = installed
    code = ("import os, zoo, zoo.export; m = zoo.load('memn2n', weights='babi-1k'); "
            "print(zoo.__file__); print(zoo.weights.ROOT); print(zoo.list_weights('entnet')); "
            "print(m.answer('Mary moved to the bathroom. John went to the hallway.', 'Where is Mary?')['answer'])")
    done = run(python, outside, "-c", code)
    assert done.returncode == 0, done.stderr[-2000:]
    path, root, tags, answer = done.stdout.strip().splitlines()[-4:]
    assert not path.startswith(ROOT) and "site-packages" in path  # the installed copy, not the checkout
    assert root.startswith(os.path.dirname(path)) and os.path.basename(root) == "saved_models"
    assert tags == "['babi-10k', 'babi-1k']" and answer == "bathroom"


def test_installed_zoo_loads_a_task_model_of_per_task_weights(installed):
    """The wheel carries the task-T/ folders of per-task weights."""
    import zoo

    python, outside, _ = installed
    code = ("import zoo; m = zoo.load('memn2n', weights='babi-10k-per-task', task=19); print(m.count_params()); "
            "print(m.answer('The office is east of the hallway. The kitchen is north of the office.', "
            "'How do you go from the kitchen to the hallway?')['answer'])")
    done = run(python, outside, "-c", code)
    assert done.returncode == 0, done.stderr[-2000:]
    params, answer = done.stdout.strip().splitlines()[-2:]
    assert int(params) > 0 and answer == zoo.load("memn2n", weights="babi-10k-per-task", task=19).answer(
        "The office is east of the hallway. The kitchen is north of the office.",
        "How do you go from the kitchen to the hallway?")["answer"]
