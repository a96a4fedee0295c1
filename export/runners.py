"""Run exported artefacts with their own runtimes (no zoo import needed).

Each runner checks its inputs first and raises ValueError naming the
problem; the artefacts themselves follow ``export.signatures.INPUT_RULES``
for any client that calls them directly.
"""

import numpy as np


def check_ids(story, query):
    """story [batch, memory, words] and query [batch, words] integer ids of one batch size, as int32."""
    story, query = np.asarray(story), np.asarray(query)
    for name, x, rank in (("story", story, 3), ("query", query, 2)):
        if x.ndim != rank:
            raise ValueError(f"{name} must have {rank} dimensions, got shape {x.shape}")
        if x.size and not np.issubdtype(x.dtype, np.integer):
            raise ValueError(f"{name} must hold integer word ids, got dtype {x.dtype}")
    if not len(story):
        raise ValueError(f"a batch needs at least one row, got story of shape {story.shape}")
    if len(story) != len(query):
        raise ValueError(f"story and query must have the same batch size, got {len(story)} and {len(query)}")
    big = np.iinfo(np.int32)
    for name, x in (("story", story), ("query", query)):
        if x.size and (x.min() < big.min or x.max() > big.max):
            raise ValueError(f"{name} holds ids that do not fit int32")
    return story.astype(np.int32), query.astype(np.int32)


class SavedModelRunner:
    def __init__(self, path):
        import tensorflow as tf

        self._tf = tf
        self.loaded = tf.saved_model.load(path)
        self.fn = self.loaded.signatures["serving_default"]

    def __call__(self, story, query):
        story, query = check_ids(story, query)
        out = self.fn(story=self._tf.constant(story), query=self._tf.constant(query))
        return out["probabilities"].numpy()

    def answer_text(self, sentences, question):
        tf = self._tf
        out = self.loaded.signatures["answer_text"](sentences=tf.constant(sentences), question=tf.constant(question))
        return [a.decode() for a in out["answer"].numpy()]


class TFLiteRunner:
    def __init__(self, path):
        self.path = path
        self._start()

    def _start(self):
        from ai_edge_litert.interpreter import Interpreter

        self.interpreter = Interpreter(model_path=self.path)
        self.runner = self.interpreter.get_signature_runner("serving_default")

    def __call__(self, story, query):
        story, query = check_ids(story, query)
        try:
            out = self.runner(story=story, query=query)
        except RuntimeError:
            self._start()  # a failed invoke leaves the interpreter unusable
            raise
        return out["probabilities"]


class ONNXRunner:
    def __init__(self, path):
        import onnxruntime as ort

        self.session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])

    def __call__(self, story, query):
        story, query = check_ids(story, query)
        return self.session.run(["probabilities"], {"story": story, "query": query})[0]


RUNNERS = {"saved_model": SavedModelRunner, "tflite": TFLiteRunner, "tflite_int8": TFLiteRunner, "onnx": ONNXRunner}
TOLERANCE = {"saved_model": 1e-5, "tflite": 1e-4, "onnx": 1e-4, "tflite_int8": None}
