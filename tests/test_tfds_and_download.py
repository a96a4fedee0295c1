import io
import os
import tarfile

import pytest

from zoo.data import download as dl


def _archive(tmp_path, files):
    path = tmp_path / "babi.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return str(path)


def test_extract_checks_every_released_file(tmp_path, monkeypatch, babi_dir):
    body = open(os.path.join(babi_dir, "en-valid", "qa1_train.txt")).read()
    import hashlib

    digest = hashlib.sha256(body.encode()).hexdigest()
    monkeypatch.setattr(dl, "file_checksums", lambda: {"tasks_1-20_v1-2/en-valid/qa1_train.txt": digest})
    good = _archive(tmp_path, {"tasks_1-20_v1-2/en-valid/qa1_train.txt": body})
    out = dl.extract(good, str(tmp_path / "good"))
    assert os.path.isfile(os.path.join(out, "en-valid", "qa1_train.txt"))
    bad = _archive(tmp_path, {"tasks_1-20_v1-2/en-valid/qa1_train.txt": body + "1 Extra line.\n"})
    with pytest.raises(ValueError, match="sha256"):
        dl.extract(bad, str(tmp_path / "bad"))


def test_manifest_matches_the_shared_copy():
    from tests.conftest import SHARED_BABI

    if not os.path.isdir(SHARED_BABI):
        pytest.skip("the shared bAbI copy is not beside the checkout")
    assert dl.verify_tree(os.path.dirname(SHARED_BABI)) == 118


def test_tfds_builder_reads_a_manual_dir_offline(tmp_path, babi_dir):
    import tensorflow_datasets as tfds

    from zoo.data.tfds_babi import Babi

    builder = Babi(config="en-valid-qa19", data_dir=str(tmp_path / "tfds"))
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=babi_dir))
    assert set(builder.info.splits) == {"train", "valid"}
    examples = list(tfds.as_numpy(builder.as_dataset(split="train")))
    assert len(examples) == 4
    ex = examples[0]
    assert ex["answer"].decode() == "s,w" and list(ex["supporting"]) == [1, 0] and ex["task"] == 19
    assert [s.decode() for s in ex["story"]] == ["the office is east of the hallway", "the kitchen is north of the office"]
