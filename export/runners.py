"""Run exported artefacts with their own runtimes (no zoo import needed)."""

import numpy as np


class SavedModelRunner:
    def __init__(self, path):
        import tensorflow as tf

        self._tf = tf
        self.loaded = tf.saved_model.load(path)
        self.fn = self.loaded.signatures["serving_default"]

    def __call__(self, story, query):
        out = self.fn(story=self._tf.constant(story, self._tf.int32), query=self._tf.constant(query, self._tf.int32))
        return out["probabilities"].numpy()

    def answer_text(self, sentences, question):
        tf = self._tf
        out = self.loaded.signatures["answer_text"](sentences=tf.constant(sentences), question=tf.constant(question))
        return [a.decode() for a in out["answer"].numpy()]


class TFLiteRunner:
    def __init__(self, path):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=path)
        self.runner = self.interpreter.get_signature_runner("serving_default")

    def __call__(self, story, query):
        out = self.runner(story=np.asarray(story, np.int32), query=np.asarray(query, np.int32))
        return out["probabilities"]


class ONNXRunner:
    def __init__(self, path):
        import onnxruntime as ort

        self.session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])

    def __call__(self, story, query):
        return self.session.run(["probabilities"], {"story": np.asarray(story, np.int32),
                                                    "query": np.asarray(query, np.int32)})[0]


RUNNERS = {"saved_model": SavedModelRunner, "tflite": TFLiteRunner, "tflite_int8": TFLiteRunner, "onnx": ONNXRunner}
TOLERANCE = {"saved_model": 1e-5, "tflite": 1e-4, "onnx": 1e-4, "tflite_int8": None}
