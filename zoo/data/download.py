"""Downloading the official bAbI v1.2 archive, with checksums.

The archive's own sha256 is not published; every file extracted from it is
checked against the sha256 of the released train and valid files
(``babi_sha256.txt``, the same files as the copy this project was built on).
Pass ``sha256=`` to check the archive itself as well.
"""

import os
import shutil
import tarfile
import tempfile
import urllib.request

from zoo.io import sha256_file

URLS = (
    "https://dl.fbaipublicfiles.com/babi/tasks_1-20_v1-2.tar.gz",
    "http://www.thespermwhale.com/jaseweston/babi/tasks_1-20_v1-2.tar.gz",
)
RELEASE = "tasks_1-20_v1-2"
MANIFEST = os.path.join(os.path.dirname(os.path.abspath(__file__)), "babi_sha256.txt")


def file_checksums():
    """{relative path: sha256} of the released train and valid files."""
    out = {}
    with open(MANIFEST, encoding="utf-8") as f:
        for line in f:
            digest, path = line.split()
            out[path] = digest
    return out


def verify_tree(root):
    """Checks every file of the manifest found under ``root`` (a folder holding tasks_1-20_v1-2).

    Returns the number of files checked; raises ValueError on a mismatch.
    """
    checked = 0
    for rel, digest in file_checksums().items():
        path = os.path.join(root, rel)
        if os.path.isfile(path):
            actual = sha256_file(path)
            if actual != digest:
                raise ValueError(f"{path}: sha256 {actual} differs from the released file's {digest}")
            checked += 1
    return checked


def extract(archive, dest):
    """Extracts a bAbI archive into ``dest`` (no links, no paths outside), checks its files."""
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    if not os.path.isdir(os.path.join(dest, RELEASE)):
        raise ValueError(f"{archive} holds no {RELEASE}/ folder: not the bAbI v1.2 archive")
    checked = verify_tree(dest)
    if checked == 0:
        raise ValueError(f"{archive}: none of the released bAbI files were found in it")
    return os.path.join(dest, RELEASE)


def download(dest, urls=URLS, sha256=None):
    """Downloads and extracts bAbI v1.2 into ``dest``; returns the release folder.

    Does nothing when ``dest`` already holds a checked copy.
    """
    release = os.path.join(dest, RELEASE)
    if os.path.isdir(release) and verify_tree(dest) > 0:
        return release
    os.makedirs(dest, exist_ok=True)
    errors = []
    for url in urls:
        fd, tmp = tempfile.mkstemp(dir=dest, suffix=".tar.gz")
        os.close(fd)
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out)
            actual = sha256_file(tmp) if sha256 is not None else None
            if actual != sha256:
                raise ValueError(f"{url}: archive sha256 {actual} differs from {sha256}")
            return extract(tmp, dest)
        except OSError as err:
            errors.append(f"{url}: {err}")
        finally:
            os.remove(tmp)
    raise OSError("could not download bAbI: " + "; ".join(errors))
