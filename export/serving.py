"""TF Serving requests for an exported SavedModel, and a local stand-in for the server.

No TF Serving binary installs on these machines; :func:`serve_locally` answers
a real ``PredictRequest`` the way the server would (inputs by name, the named
signature of the SavedModel), so that the request a client builds is checked
end to end.

>>> req = predict_request("memn2n", [["Mary went to the kitchen."]], ["Where is Mary?"])  # doctest: +SKIP
>>> tf.make_ndarray(serve_locally("exports/memn2n/1", req).outputs["answer"])  # doctest: +SKIP
array([b'kitchen'], dtype=object)
"""

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2


def predict_request(model_name, sentences, question, signature="answer_text", version=None):
    """A PredictRequest for the ``answer_text`` signature (or ``serving_default`` with ids)."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    if signature == "answer_text":
        width = max(len(s) for s in sentences)
        padded = [list(s) + [""] * (width - len(s)) for s in sentences]
        request.inputs["sentences"].CopyFrom(tf.make_tensor_proto(np.array(padded, dtype=object), dtype=tf.string))
        request.inputs["question"].CopyFrom(tf.make_tensor_proto(np.array(question, dtype=object), dtype=tf.string))
    else:
        request.inputs["story"].CopyFrom(tf.make_tensor_proto(np.asarray(sentences, np.int32)))
        request.inputs["query"].CopyFrom(tf.make_tensor_proto(np.asarray(question, np.int32)))
    return request


def serve_locally(saved_model_dir, request):
    """Answers a PredictRequest with the SavedModel, as TF Serving would; returns a PredictResponse."""
    loaded = tf.saved_model.load(saved_model_dir)
    name = request.model_spec.signature_name or "serving_default"
    if name not in loaded.signatures:
        raise ValueError(f"signature {name!r} not in {saved_model_dir}; valid: {sorted(loaded.signatures)}")
    fn = loaded.signatures[name]
    inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
    outputs = fn(**inputs)
    response = predict_pb2.PredictResponse()
    response.model_spec.CopyFrom(request.model_spec)
    for key, value in outputs.items():
        response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
    return response
