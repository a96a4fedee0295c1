"""Shared helpers of the per-model checks (DESIGN.md, Sec. 4)."""

import numpy as np
import tensorflow as tf

import keras

import zoo


def specs():
    return [zoo.get_spec(name) for name in zoo.list_models()]


def tiny(spec, seed=0):
    keras.utils.set_random_seed(seed)
    return spec.build(**spec.tiny_config)


def labels_for(spec, batch):
    return (np.arange(len(batch["query"])) * 7 + 3) % spec.tiny_config["vocab_size"]


def loss_gradients(model, batch, labels):
    """Gradients of the model's own training loss (compiled with its recipe)."""
    with tf.GradientTape() as tape:
        loss = model.compute_loss(x=batch, y=labels, y_pred=model(batch, training=True))
    grads = tape.gradient(loss, model.trainable_variables)
    return [None if g is None else np.asarray(tf.convert_to_tensor(g)) for g in grads]
