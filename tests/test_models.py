"""Every registered model through the same checks, with its tiny config."""

import os

import numpy as np
import pytest

import keras

import zoo
from zoo.training import compile_model
from tests.harness import labels_for, loss_gradients, specs, tiny

SPECS = specs()
IDS = [s.name for s in SPECS]


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_config_round_trip(spec):
    model = tiny(spec)
    config = model.get_config()
    clone = spec.cls.from_config(config)
    assert clone.get_config() == config
    clone.set_weights(model.get_weights())
    batch = spec.example_batch()
    np.testing.assert_allclose(clone.predict_on_batch(batch), model.predict_on_batch(batch), atol=1e-6)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_symbolic_and_eager_shapes(spec):
    model = tiny(spec)
    vocab = spec.tiny_config["vocab_size"]
    story = keras.Input(shape=(None, None), dtype="int32")
    query = keras.Input(shape=(None,), dtype="int32")
    assert tuple(model({"story": story, "query": query}).shape) == (None, vocab)
    for memory, words in [(5, 6), (1, 3), (9, 4)]:
        batch = spec.example_batch(batch=3, memory=memory, words=words)
        out = model(batch)
        assert tuple(out.shape) == (3, vocab)
        assert np.isfinite(np.asarray(out)).all()


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_padding_slots_do_not_change_the_answer(spec):
    model = tiny(spec)
    batch = spec.example_batch(batch=2, memory=4, words=6)
    padded = {"story": np.pad(batch["story"], ((0, 0), (0, 3), (0, 2))), "query": np.pad(batch["query"], ((0, 0), (0, 2)))}
    np.testing.assert_allclose(model.predict_on_batch(padded), model.predict_on_batch(batch), atol=1e-5)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_fit_step_gives_finite_loss(spec):
    model = tiny(spec)
    compile_model(model, spec.recipe)
    batch = spec.example_batch(batch=4)
    history = model.fit(batch, labels_for(spec, batch), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_every_trainable_variable_gets_a_gradient(spec):
    model = tiny(spec)
    compile_model(model, spec.recipe)
    batch = spec.example_batch(batch=4)
    grads = loss_gradients(model, batch, labels_for(spec, batch))
    for var, grad in zip(model.trainable_variables, grads):
        assert grad is not None, f"{var.path} gets no gradient"
        assert float(np.abs(grad).max()) > 0, f"{var.path} gets a zero gradient"


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_keras_and_weights_save_load(spec, tmp_path):
    model = tiny(spec)
    batch = spec.example_batch()
    expected = model.predict_on_batch(batch)
    path = os.path.join(tmp_path, "m.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)  # safe_mode stays on
    assert type(loaded) is spec.cls
    np.testing.assert_array_equal(loaded.predict_on_batch(batch), expected)
    wpath = os.path.join(tmp_path, "m.weights.h5")
    model.save_weights(wpath)
    fresh = tiny(spec, seed=1)
    assert not np.allclose(fresh.predict_on_batch(batch), expected)
    fresh.load_weights(wpath)
    np.testing.assert_array_equal(fresh.predict_on_batch(batch), expected)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_explain_gives_inner_values(spec):
    model = tiny(spec)
    batch = spec.example_batch(batch=2, memory=5)
    inner = model.explain(batch)
    assert inner, f"{spec.name} exposes no inner values"
    for value in inner.values():
        assert value.shape[0] == 2 and np.isfinite(value).all()


def test_registry_lists_and_rejects():
    assert "memn2n" in zoo.list_models()
    assert zoo.list_models("mem*n2n") == ["memn2n"]
    assert zoo.list_models("*memn2n") == ["gated_memn2n", "memn2n"]
    assert zoo.list_models("nothing*") == []
    with pytest.raises(ValueError, match="valid: .*memn2n"):
        zoo.load("memnet")
    with pytest.raises(ValueError, match="valid: .*hops"):
        zoo.load("memn2n", hopz=3)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_bad_config_names_the_valid_values(spec):
    counts = [key for key in ("hops", "passes", "blocks") if key in spec.default_config]
    assert counts, f"{spec.name} has no hops, passes or blocks"
    for key in counts:
        with pytest.raises(ValueError, match=f"config key '{key}' of model '{spec.name}' must be an integer of 1"):
            spec.build(**{**spec.tiny_config, key: 0})
        with pytest.raises(ValueError, match=f"{key} must be 1 or more"):  # the class itself checks too
            spec.cls(**{**spec.default_config, **spec.tiny_config, key: 0})
    if "encoder" in spec.default_config:
        with pytest.raises(ValueError, match="encoder must be one of .*position"):
            spec.build(**{**spec.tiny_config, "encoder": "lstm"})


MEMNN_VARIANTS = [{"fact_order": "given"}, {"fact_order": "any"}, {"write_time": "table", "r_order": "pick"},
                  {"hidden_units": 16}, {"o_nonlinear": True}]


@pytest.mark.parametrize("variant", MEMNN_VARIANTS, ids=[str(v) for v in MEMNN_VARIANTS])
def test_memnn_learns_in_every_variant(variant):
    """The ranking loss is finite and reaches every variable of O (and of a wider R)."""
    spec = zoo.get_spec("memnn")
    model = spec.build(**{**spec.tiny_config, **variant})
    compile_model(model, spec.recipe)
    batch = spec.example_batch(batch=4)
    grads = loss_gradients(model, batch, labels_for(spec, batch))
    for var, grad in zip(model.trainable_variables, grads):
        assert grad is not None and np.isfinite(grad).all(), var.path
        if var.path.startswith(("o_", "score_", "r_hidden")):
            assert float(np.abs(grad).max()) > 0, f"{var.path} gets a zero gradient"


def _batches_dataset(spec, parts):
    """A dataset of the example batches ``parts`` (with their labels), each of its own shape."""
    import tensorflow as tf
    labels = [labels_for(spec, p) for p in parts]
    signature = ({k: tf.TensorSpec((None,) * np.ndim(v), tf.as_dtype(v.dtype)) for k, v in parts[0].items()},
                 tf.TensorSpec((None,), tf.as_dtype(labels[0].dtype)))
    return tf.data.Dataset.from_generator(lambda: zip(parts, labels), output_signature=signature)


def _two_bucket_dataset(spec, batches):
    """``batches`` batches of 4 stories, alternating between two story shapes (two length buckets)."""
    return _batches_dataset(spec, [spec.example_batch(batch=4, memory=(3, 6)[i % 2], words=(4, 5)[i % 2], seed=i)
                                   for i in range(batches)])


@pytest.mark.parametrize("name", ["entnet", "wmemnn", "memn2n"])
def test_xla_per_shape_trains_as_plain_fit(name):
    """One XLA step per bucket shape gives the weights of plain fit, through a partial last group of
    ``steps_per_execution`` batches; evaluate and train_on_batch still work."""
    spec = zoo.get_spec(name)
    recipe = {**spec.recipe, "jit_compile": False, "steps_per_execution": 2}
    weights = []
    for per_shape in (False, True):
        model = tiny(spec)
        compile_model(model, {**recipe, "xla_per_shape": per_shape})
        history = model.fit(_two_bucket_dataset(spec, 5), epochs=2, verbose=0)
        assert np.isfinite(history.history["loss"]).all()
        weights.append(model.get_weights())
    for plain, per_shape in zip(*weights):
        np.testing.assert_allclose(per_shape, plain, atol=2e-4, rtol=1e-3)
    assert not all(np.allclose(w, v) for w, v in zip(weights[1], tiny(spec).get_weights()))  # it did train
    batch = spec.example_batch(batch=4, memory=7, words=3)
    assert np.isfinite(model.train_on_batch(batch, labels_for(spec, batch))).all()
    assert np.isfinite(model.evaluate(_two_bucket_dataset(spec, 3), verbose=0)).all()


def test_xla_per_shape_does_not_warn_of_its_own_traces():
    """A step per bucket shape is intended: TensorFlow's warning that a function is traced often (it counts
    the per-shape steps as one function) is not shown to the user; other TensorFlow warnings still are."""
    import logging

    import tensorflow as tf
    spec = zoo.get_spec("memn2n")
    data = _batches_dataset(spec, [spec.example_batch(batch=4, memory=2 + i, words=3, seed=i) for i in range(7)])
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    tf.get_logger().addHandler(handler)
    try:
        model = tiny(spec)
        compile_model(model, {**spec.recipe, "jit_compile": False, "steps_per_execution": 2, "xla_per_shape": True})
        model.fit(data, epochs=1, verbose=0)
        tf.get_logger().warning("another warning")
    finally:
        tf.get_logger().removeHandler(handler)
    messages = [r.getMessage() for r in records]
    assert "another warning" in messages
    assert not [m for m in messages if "retracing" in m]
