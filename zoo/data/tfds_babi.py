"""A TensorFlow Datasets builder for bAbI v1.2.

Configs are ``<folder>-qa<N>`` and ``<folder>-joint`` for the folders
``en``, ``en-10k``, ``en-valid`` and ``en-valid-10k``, e.g. ``en-10k-qa1`` or
``en-valid-10k-joint``. The builder reads a manual directory holding the
release (``tfds.download.DownloadConfig(manual_dir=...)``) offline, or else
downloads the official archive and checks every file's sha256.

>>> import tensorflow_datasets as tfds
>>> from zoo.data.tfds_babi import Babi
>>> b = Babi(config="en-valid-qa1", data_dir="/tmp/tfds")  # doctest: +SKIP
>>> b.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=DIR))  # doctest: +SKIP
"""

import os

import numpy as np
import tensorflow_datasets as tfds

from zoo.data.babi import FOLDERS, SPLITS, TASKS, parse_file, task_file
from zoo.data.download import RELEASE, download


class BabiConfig(tfds.core.BuilderConfig):
    def __init__(self, folder, tasks, **kwargs):
        super().__init__(**kwargs)
        self.folder = folder
        self.tasks = tasks


def _configs():
    out = []
    for folder in FOLDERS:
        for task in TASKS:
            out.append(BabiConfig(folder, (task,), name=f"{folder}-qa{task}", description=f"task {task}, {folder}"))
        out.append(BabiConfig(folder, TASKS, name=f"{folder}-joint", description=f"all 20 tasks, {folder}"))
    return out


class Babi(tfds.core.GeneratorBasedBuilder):
    """bAbI QA tasks 1-20 v1.2 (Weston et al., 2015), CC BY 3.0."""

    VERSION = tfds.core.Version("1.2.0")
    BUILDER_CONFIGS = _configs()
    MANUAL_DOWNLOAD_INSTRUCTIONS = "Optional: a folder holding tasks_1-20_v1-2/ (or its en*/ folders)."

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            description="bAbI question answering: a story, a question, a one-word answer.",
            features=tfds.features.FeaturesDict({
                "story": tfds.features.Sequence(tfds.features.Text()),
                "question": tfds.features.Text(),
                "answer": tfds.features.Text(),
                "supporting": tfds.features.Sequence(np.int32),
                "task": np.int32,
            }),
            homepage="https://research.facebook.com/downloads/babi/",
            citation="Weston et al., Towards AI-Complete Question Answering, arXiv:1502.05698",
        )

    def _root(self, dl_manager):
        try:
            manual = dl_manager.manual_dir
        except AssertionError:  # TFDS's way of saying that none was given
            manual = None
        if manual and os.path.isdir(os.fspath(manual)):
            for root in (os.fspath(manual), os.path.join(os.fspath(manual), RELEASE)):
                if os.path.isdir(os.path.join(root, self.builder_config.folder)):
                    return root
        return download(os.fspath(dl_manager.download_dir))

    def _split_generators(self, dl_manager):
        root = self._root(dl_manager)
        splits = {}
        for split in SPLITS:
            try:
                paths = [task_file(root, self.builder_config.folder, t, split) for t in self.builder_config.tasks]
            except FileNotFoundError:
                continue
            splits[split] = self._generate_examples(paths)
        if not splits:
            raise FileNotFoundError(f"no bAbI split of {self.builder_config.name} under {root}")
        return splits

    def _generate_examples(self, paths):
        for task_path in paths:
            task = int(os.path.basename(task_path)[2:].split("_")[0])
            for i, ex in enumerate(parse_file(task_path, task=task)):
                yield f"{task}-{i}", {
                    "story": [" ".join(s) for s in ex.story],
                    "question": " ".join(ex.query),
                    "answer": ex.answer,
                    "supporting": np.array(ex.supporting, np.int32),
                    "task": task,
                }
