"""tf.functions that serve a zoo model: ids in, and raw text in.

The Keras model's variables are frozen into constants: the TFLite converter
leaves Keras 3 variables as resource variables (READ_VARIABLE ops that fail
at run time) when it reads them from a SavedModel, and a frozen graph serves
the same under TF Serving.
"""

import weakref

import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

ID_SIGNATURE = [tf.TensorSpec([None, None, None], tf.int32, name="story"),
                tf.TensorSpec([None, None], tf.int32, name="query")]
TEXT_SIGNATURE = [tf.TensorSpec([None, None], tf.string, name="sentences"),
                  tf.TensorSpec([None], tf.string, name="question")]
OUTPUTS = ("answer_id", "probabilities")


UNK = 1  # the vocabulary's <unk>
INPUT_RULES = (
    "a batch has at least one row (an empty batch may fail); story and query must have the same batch size (else the runtime raises an out-of-range gather error); "
    "ids outside [0, vocab) are read as 1 (<unk>); each story keeps its last memory_size sentences up to its "
    "last non-empty one, as the Keras model's answer() does; a row whose story or query has no word gets "
    "answer_id -1, probabilities all 0 (and answer '' in answer_text)")


def prepare(story, query, vocab_size, memory_size):
    """The serving rules (``INPUT_RULES``) on raw id tensors, in ops that every format has.

    Returns ``(story, query, answered)``: the inputs the model reads, and
    [batch] bool, False for the rows that get no answer.
    """
    # Equal batch sizes: each input is gathered by the other's row numbers, which is out of range in every
    # runtime when they differ (a broadcast of a batch of 1 would answer a question nobody asked).
    # The row numbers are a cumulative sum, not tf.range: tf2onnx turns a gather of a range into a Slice,
    # which clips where a gather fails.
    rows_story, rows_query = tf.shape(story)[0], tf.shape(query)[0]
    story = tf.gather(story, tf.cumsum(tf.ones([rows_query], tf.int32)) - 1)
    query = tf.gather(query, tf.cumsum(tf.ones([rows_story], tf.int32)) - 1)

    def in_vocab(ids):
        return tf.where((ids >= 0) & (ids < vocab_size), ids, tf.fill(tf.shape(ids), UNK))

    story, query = in_vocab(story), in_vocab(query)
    # One padding slot and word more: a story of no slots or words still has a shape every runtime can read.
    batch, slots, words = tf.shape(story)[0], tf.shape(story)[1], tf.shape(story)[2]
    story = tf.concat([story, tf.zeros(tf.stack([batch, 1, words]), tf.int32)], 1)
    story = tf.concat([story, tf.zeros(tf.stack([batch, slots + 1, 1]), tf.int32)], 2)
    query = tf.concat([query, tf.zeros(tf.stack([batch, 1]), tf.int32)], 1)
    # The window: slots [length - M, length) of each row, length = 1 + the last non-empty slot, as a product
    # with a 0/1 selection (a gather per row is not in every format).
    slots = tf.shape(story)[1]
    used = tf.cast(tf.reduce_max(story, axis=2) > 0, tf.int32)  # [batch, slots]
    # (tf.expand_dims, not [:, None]: a strided slice that adds an axis is no TFLite built-in.)
    length = tf.reduce_max(used * tf.expand_dims(tf.range(slots) + 1, 0), axis=1)  # [batch]
    window = tf.minimum(slots, memory_size)
    start = tf.maximum(length - window, 0)
    pick = tf.expand_dims(start, 1) + tf.expand_dims(tf.range(window), 0)  # [batch, window]
    select = tf.cast(tf.equal(tf.expand_dims(pick, 2), tf.reshape(tf.range(slots), [1, 1, -1])),
                     tf.float32)  # [batch, window, slots]
    story = tf.cast(tf.round(tf.matmul(select, tf.cast(story, tf.float32))), tf.int32)
    answered = (length > 0) & (tf.reduce_max(query, axis=1) > 0)
    return story, query, answered


def finish(logits, answered):
    """Probabilities and answer id under the serving rules: -1 and zeros for the rows not answered."""
    keep = tf.expand_dims(tf.cast(answered, logits.dtype), 1)
    return {"probabilities": tf.nn.softmax(logits, axis=-1) * keep,
            "answer_id": tf.where(answered, tf.argmax(logits, axis=-1, output_type=tf.int32),
                                  tf.fill(tf.shape(answered), -1))}


_GRAPHS = weakref.WeakKeyDictionary()


def reference(model, story, query):
    """What every exported format answers, computed with the Keras model (for parity checks).

    The model runs as a graph (a ``tf.function``), as ``predict`` and the exported signatures run it. Run
    eagerly, op by op, its float32 rounds differently (other kernels, no fusions): for wmemnn/babi-10k by up
    to 1.1e-05 in a probability on one of the 20,002 valid questions, over the SavedModel's tolerance of
    1e-05 with no export involved (README: Export).
    """
    config = model.get_config()
    story, query, answered = prepare(tf.constant(story, tf.int32), tf.constant(query, tf.int32),
                                     config["vocab_size"], config["memory_size"])
    if story.shape[0] == 0:
        raise ValueError("a batch needs at least one row")
    if model not in _GRAPHS:
        held = weakref.ref(model)  # the function must not keep its model (the key) alive
        _GRAPHS[model] = tf.function(lambda s, q: held()({"story": s, "query": q}, training=False),
                                     reduce_retracing=True)
    logits = _GRAPHS[model](story, query)
    return {k: v.numpy() for k, v in finish(tf.convert_to_tensor(logits), answered).items()}


def ids_function(model):
    """A tf.function from (story, query) ids to answer probabilities and id, under the serving rules."""
    config = model.get_config()

    @tf.function(input_signature=ID_SIGNATURE)
    def serve(story, query):
        story, query, answered = prepare(story, query, config["vocab_size"], config["memory_size"])
        return finish(model({"story": story, "query": query}, training=False), answered)

    return serve


class ServingModule(tf.Module):
    """What the SavedModel holds: the frozen model and the vocabulary table.

    Signatures:
        serving_default: story int32 [batch, memory, words], query int32
            [batch, words] -> probabilities float32 [batch, vocab], answer_id
            int32 [batch].
        answer_text: sentences string [batch, memory] ('' pads), question
            string [batch] -> answer string [batch], answer_id, probabilities.
        Both follow ``INPUT_RULES`` (batch sizes, ids, the memory window,
        empty stories), as the TFLite and ONNX files do.
            Tokenised in the graph as ``zoo.data.tokenize`` does: lower case,
            runs of [a-z0-9'] are words, the rest separates them.
    """

    def __init__(self, model, vocab_tokens=None):
        super().__init__()
        self._frozen = convert_variables_to_constants_v2(ids_function(model).get_concrete_function())
        self.serve = tf.function(self._serve, input_signature=ID_SIGNATURE)
        if vocab_tokens is None:  # ids only: what the TFLite converter reads
            return
        self.vocab = tf.constant(vocab_tokens)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.KeyValueTensorInitializer(self.vocab, tf.range(len(vocab_tokens), dtype=tf.int32)),
            default_value=1)  # 1 = <unk>
        self.answer_text = tf.function(self._answer_text, input_signature=TEXT_SIGNATURE)

    def _serve(self, story, query):
        out = self._frozen(story=story, query=query)
        if isinstance(out, dict):
            return {k: out[k] for k in OUTPUTS}
        probs, ids = (out[0], out[1]) if out[0].shape.rank == 2 else (out[1], out[0])
        return {"probabilities": probs, "answer_id": ids}

    def _tokens(self, text):
        text = tf.strings.regex_replace(tf.strings.lower(text), "[^a-z0-9']+", " ")
        words = tf.strings.split(tf.strings.strip(text))
        return tf.ragged.map_flat_values(self.table.lookup, words)

    def _answer_text(self, sentences, question):
        story = self._tokens(sentences).to_tensor(default_value=0)  # [batch, memory, words]
        query = self._tokens(question).to_tensor(default_value=0)  # [batch, words]
        out = self._serve(story, query)
        answered = out["answer_id"] >= 0
        words = tf.gather(self.vocab, tf.maximum(out["answer_id"], 0))
        return {"answer": tf.where(answered, words, tf.fill(tf.shape(words), "")), **out}
