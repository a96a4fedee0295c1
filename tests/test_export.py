"""Every registered model exported to every format and checked against Keras (DESIGN.md, Sec. 4)."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from export import FORMATS, export_model
from export.verify import compare
from zoo.data.vocab import Vocabulary
from tests.harness import specs, tiny

SPECS = specs()
IDS = [s.name for s in SPECS]


def tiny_vocab(spec):
    return Vocabulary(["<pad>", "<unk>"] + [f"w{i}" for i in range(2, spec.tiny_config["vocab_size"])])


@pytest.fixture(scope="module", params=SPECS, ids=IDS)
def exported(request, tmp_path_factory):
    spec = request.param
    model = tiny(spec)
    vocab = tiny_vocab(spec)
    object.__setattr__(model, "vocab", vocab)
    out = str(tmp_path_factory.mktemp(f"export-{spec.name}"))
    paths = export_model(model, vocab, spec.name, None, out, unsupported=spec.unsupported_exports, log=lambda m: None)
    return spec, model, out, paths


def test_every_format_exported_or_declared(exported):
    spec, _, _, paths = exported
    for fmt in FORMATS:
        assert fmt in paths or fmt in spec.unsupported_exports, f"{spec.name}: {fmt} neither exported nor declared"
    for path in paths.values():
        assert os.path.exists(path)


def test_parity_with_keras_within_tolerance(exported):
    spec, model, _, paths = exported
    batches = [spec.example_batch(batch=b, memory=m, words=w, seed=s)
               for s, (b, m, w) in enumerate([(1, 5, 6), (4, 3, 4), (7, 9, 5)])]
    results = compare(model, paths, batches)
    for kind, r in results.items():
        if r["tolerance"] is not None:
            assert r["ok"], f"{spec.name} {kind}: {r}"
        assert r["argmax_equal"] >= 0.99 if kind != "tflite_int8" else r["argmax_equal"] > 0.5


def test_metadata_beside_each_artefact(exported):
    spec, _, out, paths = exported
    for kind, path in paths.items():
        meta_path = os.path.join(out, spec.name, "metadata.json") if kind == "saved_model" else path + ".json"
        meta = json.load(open(meta_path))
        assert meta["model"] == spec.name and meta["vocabulary"][:2] == ["<pad>", "<unk>"]
        assert set(meta["inputs"]) == {"story", "query"} and "probabilities" in meta["outputs"]
        assert meta["versions"]["tensorflow"] and meta["sha256"]
        from zoo.io import sha256_file

        if os.path.isfile(path):
            assert meta["sha256"][os.path.basename(path)] == sha256_file(path)


def test_saved_model_and_onnx_run_without_zoo(exported, python_without_zoo):
    """A fresh Python that cannot import zoo serves the SavedModel (both signatures) and the ONNX file."""
    spec, model, out, paths = exported
    if "saved_model" not in paths or "onnx" not in paths:
        pytest.skip(f"{spec.name} declares no saved_model/onnx export")
    sentences = [["w2 w3 w4.", "W5 w6, w7.", ""], ["w8 w2", "", ""]]
    questions = ["w3 w9?", "w2 w4"]
    expected = [model.answer([s for s in story if s], q)["answer"] for story, q in zip(sentences, questions)]
    script = f"""
import sys, json
import numpy as np, tensorflow as tf, onnxruntime as ort
assert "zoo" not in sys.modules
try:
    import zoo
    raise SystemExit("zoo is importable")
except ImportError:
    pass
sm = tf.saved_model.load({paths['saved_model']!r})
out = sm.signatures["answer_text"](sentences=tf.constant({sentences!r}), question=tf.constant({questions!r}))
ids = np.array({spec.example_batch()['story'].tolist()!r}, np.int32)
q = np.array({spec.example_batch()['query'].tolist()!r}, np.int32)
p1 = sm.signatures["serving_default"](story=tf.constant(ids), query=tf.constant(q))["probabilities"].numpy()
p2 = ort.InferenceSession({paths['onnx']!r}).run(["probabilities"], {{"story": ids, "query": q}})[0]
print(json.dumps({{"answers": [a.decode() for a in out["answer"].numpy()], "diff": float(abs(p1 - p2).max())}}))
"""
    proc = subprocess.run([python_without_zoo, "-I", "-c", script], capture_output=True, text=True, cwd=out, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["answers"] == expected
    assert result["diff"] < 1e-4


def test_export_refuses_to_overwrite_and_names_bad_formats(exported):
    spec, model, out, paths = exported
    with pytest.raises(FileExistsError, match="--overwrite"):
        export_model(model, model.vocab, spec.name, None, out, formats=["onnx"], log=lambda m: None)
    with pytest.raises(ValueError, match="valid: saved_model, tflite, onnx"):
        export_model(model, model.vocab, spec.name, None, out, formats=["torchscript"], log=lambda m: None)
    before = os.path.getmtime(paths["onnx"]) if "onnx" in paths else None
    if before is not None:
        export_model(model, model.vocab, spec.name, None, out, formats=["onnx"], overwrite=True, log=lambda m: None)
        assert os.path.getmtime(paths["onnx"]) >= before


def test_declared_unsupported_format_is_named_not_skipped_silently(tmp_path):
    spec = SPECS[0]
    model = tiny(spec)
    said = []
    paths = export_model(model, tiny_vocab(spec), spec.name, None, str(tmp_path), formats=["onnx"],
                         unsupported={"onnx": "a reason"}, log=said.append)
    assert paths == {} and said == [f"{spec.name}: no onnx export: a reason"]


def test_predict_request_through_the_saved_model(exported):
    """A real tensorflow-serving-api PredictRequest, answered by the SavedModel's signatures."""
    from export.serving import predict_request, serve_locally

    spec, model, _, paths = exported
    if "saved_model" not in paths:
        pytest.skip(f"{spec.name} declares no saved_model export")
    request = predict_request(spec.name, [["w2 w3.", "w4 w5 w6."]], ["w3 w2?"])
    assert request.model_spec.signature_name == "answer_text"
    response = serve_locally(paths["saved_model"], request)
    import tensorflow as tf

    answer = tf.make_ndarray(response.outputs["answer"])[0].decode()
    assert answer == model.answer(["w2 w3.", "w4 w5 w6."], "w3 w2?")["answer"]
    batch = spec.example_batch()
    ids = serve_locally(paths["saved_model"], predict_request(spec.name, batch["story"], batch["query"],
                                                               signature="serving_default"))
    np.testing.assert_array_equal(tf.make_ndarray(ids.outputs["answer_id"]),
                                  np.asarray(model.predict_on_batch(batch)).argmax(-1))


def test_saved_model_cli_shows_both_signatures(exported):
    spec, _, _, paths = exported
    if "saved_model" not in paths:
        pytest.skip(f"{spec.name} declares no saved_model export")
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    proc = subprocess.run([cli, "show", "--all", "--dir", paths["saved_model"]], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for text in ("signature_def['serving_default']", "signature_def['answer_text']", "inputs['story']",
                 "inputs['sentences']", "outputs['answer']", "outputs['probabilities']"):
        assert text in proc.stdout
