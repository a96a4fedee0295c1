"""Writers of the three formats, each with a metadata file beside it.

Layout of ``out``::

    out/<name>/<version>/          SavedModel for TF Serving (serving_default, answer_text)
    out/<name>/metadata.json
    out/<name>.tflite (+ .json)    float32, built-in ops only, converted from a SavedModel
    out/<name>.int8.tflite (+ .json)   dynamic-range int8
    out/<name>.onnx (+ .json)      opset 17
"""

import contextlib
import os
import shutil

import keras
import tensorflow as tf

from .signatures import INPUT_RULES
from zoo.io import atomic_write_bytes, atomic_write_json, check_writable_folder, make_temp_folder, sha256_file

FORMATS = ("saved_model", "tflite", "onnx")
# Serving needs the forward pass only. The layers' custom gradients
# (zoo.layers.lookup) are left out: TensorFlow cannot save one whose gradient
# reads an input of the function.
SAVE_OPTIONS = tf.saved_model.SaveOptions(experimental_custom_gradients=False)
OPSET = 17


def _files_sha256(root):
    if os.path.isfile(root):
        return {os.path.basename(root): sha256_file(root)}
    out = {}
    for folder, _, files in os.walk(root):
        for f in sorted(files):
            path = os.path.join(folder, f)
            out[os.path.relpath(path, root)] = sha256_file(path)
    return out


_EXPORT_ID = [None]


@contextlib.contextmanager
def _export_id(value):
    _EXPORT_ID[0] = value
    try:
        yield
    finally:
        _EXPORT_ID[0] = None


def _metadata(name, weights, vocab, fmt, artefact, io):
    return {
        "model": name, "weights": weights, "export_id": _EXPORT_ID[0], "format": fmt,
        "vocabulary": list(vocab.tokens),
        **io, "versions": {"keras": keras.__version__, "tensorflow": tf.__version__},
        "sha256": _files_sha256(artefact),
    }


ID_IO = {
    "inputs": {"story": {"dtype": "int32", "shape": ["batch", "memory", "words"]},
               "query": {"dtype": "int32", "shape": ["batch", "words"]}},
    "outputs": {"probabilities": {"dtype": "float32", "shape": ["batch", "vocab"]},
                "answer_id": {"dtype": "int32", "shape": ["batch"]}},
    "rules": INPUT_RULES,
}


def write_saved_model(module, vocab, name, weights, stage, version=1):
    """Writes ``stage/<name>/<version>`` and ``stage/<name>/metadata.json``; returns the version folder."""
    target = os.path.join(stage, name, str(version))
    tf.saved_model.save(module, target, signatures={"serving_default": module.serve,
                                                    "answer_text": module.answer_text}, options=SAVE_OPTIONS)
    io = {**ID_IO, "version": version, "signatures": {
        "serving_default": ID_IO,
        "answer_text": {"inputs": {"sentences": {"dtype": "string", "shape": ["batch", "memory"]},
                                   "question": {"dtype": "string", "shape": ["batch"]}},
                        "outputs": {"answer": {"dtype": "string", "shape": ["batch"]}, **ID_IO["outputs"]}}}}
    atomic_write_json(os.path.join(stage, name, "metadata.json"),
                      _metadata(name, weights, vocab, "saved_model", target, io))
    return target


def write_tflite(model, vocab, name, weights, stage):
    """Writes the float32 and dynamic-range int8 TFLite files in ``stage``; returns both paths.

    Both are converted from one SavedModel of the ids signature alone (the
    converter cannot take the vocabulary table of ``answer_text``), kept in
    ``stage`` too, so that it goes with the rest of the staging folder.
    """
    from .signatures import ServingModule

    targets = {False: os.path.join(stage, f"{name}.tflite"), True: os.path.join(stage, f"{name}.int8.tflite")}
    module = ServingModule(model)
    ids_only = make_temp_folder(stage, ".tflite-source-")
    tf.saved_model.save(module, ids_only, signatures={"serving_default": module.serve}, options=SAVE_OPTIONS)
    for int8, target in targets.items():
        converter = tf.lite.TFLiteConverter.from_saved_model(ids_only, signature_keys=["serving_default"])
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # no Flex delegate on devices
        if int8:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]  # dynamic range: int8 weights
        atomic_write_bytes(target, converter.convert())
        atomic_write_json(target + ".json", _metadata(name, weights, vocab, "tflite-int8" if int8 else "tflite",
                                                      target, ID_IO))
    shutil.rmtree(ids_only)
    return targets[False], targets[True]


def write_onnx(model, vocab, name, weights, stage):
    import onnx
    import tf2onnx

    from .signatures import ID_SIGNATURE, ids_function

    target = os.path.join(stage, f"{name}.onnx")
    proto, _ = tf2onnx.convert.from_function(ids_function(model), input_signature=ID_SIGNATURE, opset=OPSET)
    onnx.checker.check_model(proto)
    atomic_write_bytes(target, proto.SerializeToString())
    atomic_write_json(target + ".json", _metadata(name, weights, vocab, f"onnx-opset{OPSET}", target, ID_IO))
    return target


def targets(out, name, formats):
    """The paths an export of ``formats`` writes in ``out``, by format (the SavedModel's is its model folder)."""
    paths = {"saved_model": [os.path.join(out, name)],
             "tflite": [os.path.join(out, f"{name}{kind}.tflite{meta}") for kind in ("", ".int8") for meta in ("", ".json")],
             "onnx": [os.path.join(out, f"{name}.onnx{meta}") for meta in ("", ".json")]}
    return [p for fmt in formats for p in paths[fmt]]


def _alive(pid):
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:  # another user's process
        return True
    return True


def _versions(folder):
    return sorted(int(v) for v in os.listdir(folder) if v.isdigit()) if os.path.isdir(folder) else []


def export_model(model, vocab, name, weights, out, formats=FORMATS, unsupported=None, overwrite=False,
                 log=print):
    """Exports to each format; returns {format: path}. Formats the model declares unsupported are named, not skipped silently.

    Whole or absent: every target is checked first (none may exist unless
    ``overwrite``); every format is written in a staging folder inside
    ``out`` and moved into place only when all of them are written, each
    file by an atomic rename; the staging folder goes on every path. The
    SavedModel is the next version of ``out/<name>/`` (as TF Serving
    expects: it serves the highest version), and older versions are removed
    only after the new one is in place, so that there is always a servable
    version. All metadata files of one export carry the same ``export_id``.
    """
    import uuid

    from .signatures import ServingModule

    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown export format(s) {unknown}; valid: {', '.join(FORMATS)}")
    inputs = sorted(t.name for t in model.inputs)
    if inputs != ["query", "story"]:
        raise ValueError(f"export serves models with the inputs story and query; {name} takes {inputs} "
                         f"(a KVMemNN with memory='key_value' is one: export its memory='story' form)")
    unsupported = unsupported or {}
    for fmt in formats:
        if fmt in unsupported:
            log(f"{name}: no {fmt} export: {unsupported[fmt]}")
    formats = [f for f in FORMATS if f in formats and f not in unsupported]
    existing = [p for p in targets(out, name, formats) if os.path.exists(p)]
    if existing and not overwrite:
        raise FileExistsError(f"{', '.join(existing)} exist(s); pass --overwrite to replace them")
    check_writable_folder(out, "out")
    for entry in os.listdir(out):  # what an export killed midway left (its process is gone)
        if entry.startswith(".export-") and not _alive(entry.split("-")[1]):
            shutil.rmtree(os.path.join(out, entry), ignore_errors=True)
    stage = make_temp_folder(out, f".export-{os.getpid()}-")
    export_id = uuid.uuid4().hex
    version = (_versions(os.path.join(out, name)) or [0])[-1] + 1
    try:
        staged = {}
        with _export_id(export_id):
            if "saved_model" in formats:
                staged["saved_model"] = write_saved_model(ServingModule(model, vocab.tokens), vocab, name, weights,
                                                          stage, version)
                log(f"{name}: wrote saved_model")
            if "tflite" in formats:
                staged["tflite"], staged["tflite_int8"] = write_tflite(model, vocab, name, weights, stage)
                log(f"{name}: wrote tflite")
            if "onnx" in formats:
                staged["onnx"] = write_onnx(model, vocab, name, weights, stage)
                log(f"{name}: wrote onnx")
        paths = {}
        for kind, path in staged.items():
            if kind == "saved_model":
                folder = os.path.join(out, name)
                os.makedirs(folder, exist_ok=True)
                paths[kind] = os.path.join(folder, str(version))
                os.replace(path, paths[kind])
                os.replace(os.path.join(stage, name, "metadata.json"), os.path.join(folder, "metadata.json"))
                for old in _versions(folder):
                    if old != version:
                        shutil.rmtree(os.path.join(folder, str(old)))
            else:
                paths[kind] = os.path.join(out, os.path.basename(path))
                os.replace(path, paths[kind])
                os.replace(path + ".json", paths[kind] + ".json")
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return paths
