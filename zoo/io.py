"""Small file helpers: atomic writes and checksums."""

import hashlib
import json
import os
import tempfile


def umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_temp_folder(parent, prefix):
    """``tempfile.mkdtemp`` with the mode of an ordinary folder (0777 less the umask), not 0700: a folder
    renamed into place keeps its mode, and a serving account must be able to read it."""
    path = tempfile.mkdtemp(dir=parent, prefix=prefix)
    os.chmod(path, 0o777 & ~umask())
    return path


def check_writable_folder(path, arg):
    """Creates ``path`` if needed and checks that a file can be written in it; else ValueError naming ``arg``."""
    try:
        os.makedirs(path, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".probe-")
        os.close(fd)
        os.remove(probe)
    except OSError as err:
        raise ValueError(f"--{arg} {path!r}: cannot write there ({err.strerror or err})") from None


def atomic_write_bytes(path, data):
    """Writes ``data`` to ``path`` through a temporary file and a rename; the file's mode follows the umask."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~umask())  # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def atomic_write_text(path, text):
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj):
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
