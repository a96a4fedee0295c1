"""Export zoo models to SavedModel (TF Serving), TFLite and ONNX, and check them against Keras."""

from .writers import FORMATS, export_model

__all__ = ["FORMATS", "export_model"]
