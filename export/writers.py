"""Writers of the three formats, each with a metadata file beside it.

Layout of ``out``::

    out/<name>/<version>/          SavedModel for TF Serving (serving_default, answer_text)
    out/<name>/metadata.json
    out/<name>.tflite (+ .json)    float32, built-in ops only, converted from a SavedModel
    out/<name>.int8.tflite (+ .json)   dynamic-range int8
    out/<name>.onnx (+ .json)      opset 17
"""

import os
import shutil
import tempfile

import keras
import tensorflow as tf

from export.signatures import INPUT_RULES
from zoo.io import atomic_write_bytes, atomic_write_json, sha256_file

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


def _metadata(name, weights, vocab, fmt, artefact, io):
    return {
        "model": name, "weights": weights, "format": fmt, "vocabulary": list(vocab.tokens),
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


def _check_target(path, overwrite):
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; pass --overwrite to replace it")


def write_saved_model(model, vocab, name, weights, out, version=1, overwrite=False):
    from export.signatures import ServingModule

    target = os.path.join(out, name, str(version))
    _check_target(target, overwrite)
    module = ServingModule(model, vocab.tokens)
    os.makedirs(os.path.join(out, name), exist_ok=True)
    tmp = tempfile.mkdtemp(dir=os.path.join(out, name), prefix=".tmp-")
    try:
        tf.saved_model.save(module, tmp, signatures={"serving_default": module.serve,
                                                     "answer_text": module.answer_text},
                            options=SAVE_OPTIONS)
        if os.path.exists(target):
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    io = {**ID_IO, "signatures": {
        "serving_default": ID_IO,
        "answer_text": {"inputs": {"sentences": {"dtype": "string", "shape": ["batch", "memory"]},
                                   "question": {"dtype": "string", "shape": ["batch"]}},
                        "outputs": {"answer": {"dtype": "string", "shape": ["batch"]}, **ID_IO["outputs"]}}}}
    atomic_write_json(os.path.join(out, name, "metadata.json"),
                      _metadata(name, weights, vocab, "saved_model", target, io))
    return target


def write_tflite(model, vocab, name, weights, out, overwrite=False):
    """Writes the float32 and dynamic-range int8 TFLite files; returns both paths.

    Both are converted from one SavedModel of the ids signature alone (the
    converter cannot take the vocabulary table of ``answer_text``).
    """
    from export.signatures import ServingModule

    targets = {False: os.path.join(out, f"{name}.tflite"), True: os.path.join(out, f"{name}.int8.tflite")}
    for target in targets.values():
        _check_target(target, overwrite)
    module = ServingModule(model)
    flatbuffers = {}
    with tempfile.TemporaryDirectory(prefix="zoo-tflite-") as tmp:
        tf.saved_model.save(module, tmp, signatures={"serving_default": module.serve}, options=SAVE_OPTIONS)
        for int8 in targets:
            converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=["serving_default"])
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]  # no Flex delegate on devices
            if int8:
                converter.optimizations = [tf.lite.Optimize.DEFAULT]  # dynamic range: int8 weights
            flatbuffers[int8] = converter.convert()
    for int8, target in targets.items():
        atomic_write_bytes(target, flatbuffers[int8])
        atomic_write_json(target + ".json", _metadata(name, weights, vocab, "tflite-int8" if int8 else "tflite",
                                                      target, ID_IO))
    return targets[False], targets[True]


def write_onnx(model, vocab, name, weights, out, overwrite=False):
    import onnx
    import tf2onnx

    from export.signatures import ID_SIGNATURE, ids_function

    target = os.path.join(out, f"{name}.onnx")
    _check_target(target, overwrite)
    proto, _ = tf2onnx.convert.from_function(ids_function(model), input_signature=ID_SIGNATURE, opset=OPSET)
    onnx.checker.check_model(proto)
    atomic_write_bytes(target, proto.SerializeToString())
    atomic_write_json(target + ".json", _metadata(name, weights, vocab, f"onnx-opset{OPSET}", target, ID_IO))
    return target


def export_model(model, vocab, name, weights, out, formats=FORMATS, unsupported=None, overwrite=False,
                 log=print):
    """Exports to each format; returns {format: path}. Formats the model declares unsupported are named, not skipped silently."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError(f"unknown export format(s) {unknown}; valid: {', '.join(FORMATS)}")
    inputs = sorted(t.name for t in model.inputs)
    if inputs != ["query", "story"]:
        raise ValueError(f"export serves models with the inputs story and query; {name} takes {inputs} "
                         f"(a KVMemNN with memory='key_value' is one: export its memory='story' form)")
    unsupported = unsupported or {}
    paths = {}
    os.makedirs(out, exist_ok=True)
    for fmt in formats:
        if fmt in unsupported:
            log(f"{name}: no {fmt} export: {unsupported[fmt]}")
            continue
        if fmt == "saved_model":
            paths["saved_model"] = write_saved_model(model, vocab, name, weights, out, overwrite=overwrite)
        if fmt == "tflite":
            paths["tflite"], paths["tflite_int8"] = write_tflite(model, vocab, name, weights, out, overwrite=overwrite)
        if fmt == "onnx":
            paths["onnx"] = write_onnx(model, vocab, name, weights, out, overwrite=overwrite)
        log(f"{name}: wrote {fmt}")
    return paths
