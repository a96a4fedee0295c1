"""Fixed word ids, repeated over the batch, made inside the graph."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="zoo")
class ConstantIds(keras.layers.Layer):
    """A batch of the same fixed word ids, e.g. the entities whose embeddings are EntNet's keys.

    The ids are a constant of the traced graph, not a tensor captured from
    outside it (which tf2onnx would turn into an extra input), and the
    embedding that looks them up stays trainable.

    Args:
        ids: list of int word ids.

    Call arguments:
        like: any tensor [batch, ...]; only its batch size is used.

    Returns:
        [batch, len(ids)] int32.

    Example:
        >>> ConstantIds([4, 2])(ops.zeros((3, 5))).shape
        TensorShape([3, 2])
    """

    def __init__(self, ids, **kwargs):
        super().__init__(**kwargs)
        self.ids = [int(i) for i in ids]

    def call(self, like):
        return ops.zeros_like(ops.cast(like[:, :1], "int32")) + ops.convert_to_tensor([self.ids], "int32")

    def compute_output_shape(self, like_shape):
        return (like_shape[0], len(self.ids))

    def compute_output_spec(self, like):
        return keras.KerasTensor((like.shape[0], len(self.ids)), dtype="int32")

    def get_config(self):
        return {**super().get_config(), "ids": self.ids}
