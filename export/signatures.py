"""tf.functions that serve a zoo model: ids in, and raw text in.

The Keras model's variables are frozen into constants: the TFLite converter
leaves Keras 3 variables as resource variables (READ_VARIABLE ops that fail
at run time) when it reads them from a SavedModel, and a frozen graph serves
the same under TF Serving.
"""

import tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

ID_SIGNATURE = [tf.TensorSpec([None, None, None], tf.int32, name="story"),
                tf.TensorSpec([None, None], tf.int32, name="query")]
TEXT_SIGNATURE = [tf.TensorSpec([None, None], tf.string, name="sentences"),
                  tf.TensorSpec([None], tf.string, name="question")]
OUTPUTS = ("answer_id", "probabilities")


def ids_function(model):
    """A tf.function from (story, query) ids to answer probabilities and id."""

    @tf.function(input_signature=ID_SIGNATURE)
    def serve(story, query):
        logits = model({"story": story, "query": query}, training=False)
        return {"probabilities": tf.nn.softmax(logits, axis=-1),
                "answer_id": tf.argmax(logits, axis=-1, output_type=tf.int32)}

    return serve


class ServingModule(tf.Module):
    """What the SavedModel holds: the frozen model and the vocabulary table.

    Signatures:
        serving_default: story int32 [batch, memory, words], query int32
            [batch, words] -> probabilities float32 [batch, vocab], answer_id
            int32 [batch].
        answer_text: sentences string [batch, memory] ('' pads), question
            string [batch] -> answer string [batch], answer_id, probabilities.
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
        story = tf.cond(tf.shape(story)[2] > 0, lambda: story,
                        lambda: tf.zeros([tf.shape(story)[0], tf.shape(story)[1], 1], tf.int32))
        query = tf.cond(tf.shape(query)[1] > 0, lambda: query, lambda: tf.zeros([tf.shape(query)[0], 1], tf.int32))
        out = self._serve(story, query)
        return {"answer": tf.gather(self.vocab, out["answer_id"]), **out}
