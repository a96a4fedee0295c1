"""A local demo page and JSON endpoint: pick a model and weights, paste a story, ask, see where it looks.

``python -m zoo serve [--port P]`` serves on 127.0.0.1 only. Needs the ``serve`` extra (Flask):
``pip install "keras-memnet-zoo[serve]"``.

- ``GET /``: the page. ``GET /api/models``: ``{model: [weight tags]}`` of the shipped weights.
- ``POST /api/answer`` with JSON ``{"model", "weights", "story", "question", "picture": true}``: ``{"answer",
  "sentences", "steps", "attention", "picture"}`` (``picture`` a PNG data URL of :mod:`zoo.plot`); bad
  input gets status 400 and ``{"error": "..."}`` naming it, a request over 64 KB status 413.
"""

import base64
import io
import threading

MAX_REQUEST = 64 * 1024
MAX_SENTENCES = 200

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>zoo: Memory Networks demo</title>
<style>
 body { font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; }
 textarea { width: 100%; height: 10em; } input[type=text] { width: 100%; }
 #error { color: #b00; } #answer { font-size: 1.4em; font-weight: bold; } img { max-width: 100%; }
</style></head>
<body>
<h1>Memory Networks: where does the model look?</h1>
<form id="ask">
 <label>Model <select id="model" name="model"></select></label>
 <label>Weights <select id="weights" name="weights"></select></label>
 <p><label>Story (one sentence per line, or sentences ending with '.')<br>
 <textarea id="story" name="story">Mary moved to the bathroom.
John went to the hallway.
Mary went back to the kitchen.</textarea></label></p>
 <p><label>Question <input type="text" id="question" name="question" value="Where is Mary?"></label></p>
 <button type="submit" id="submit">Answer</button>
</form>
<p id="error" role="alert"></p>
<p>Answer: <span id="answer"></span></p>
<div id="picture"></div>
<script>
let models = {};
const sel = (id) => document.getElementById(id);
function fillWeights() {
  sel("weights").innerHTML = "";
  for (const tag of models[sel("model").value] || []) sel("weights").add(new Option(tag, tag));
}
fetch("api/models").then((r) => r.json()).then((m) => {
  models = m;
  for (const name of Object.keys(m)) sel("model").add(new Option(name, name, false, name === "memn2n"));
  fillWeights();
});
sel("model").addEventListener("change", fillWeights);
sel("ask").addEventListener("submit", async (event) => {
  event.preventDefault();
  sel("error").textContent = ""; sel("answer").textContent = "..."; sel("picture").innerHTML = "";
  const body = {model: sel("model").value, weights: sel("weights").value, story: sel("story").value,
                question: sel("question").value, picture: true};
  try {
    const r = await fetch("api/answer", {method: "POST", headers: {"Content-Type": "application/json"},
                                         body: JSON.stringify(body)});
    const out = await r.json();
    if (!r.ok) { sel("answer").textContent = ""; sel("error").textContent = out.error; return; }
    sel("answer").textContent = out.answer;
    const img = document.createElement("img"); img.src = out.picture; img.alt = "attention";
    sel("picture").appendChild(img);
  } catch (err) { sel("answer").textContent = ""; sel("error").textContent = String(err); }
});
</script>
</body></html>
"""


class BadRequest(ValueError):
    pass


class Answerer:
    """Loads each (model, weights) once and answers; errors as :class:`BadRequest` naming the problem."""

    def __init__(self):
        self._models = {}
        self._lock = threading.Lock()

    @staticmethod
    def catalogue():
        import zoo

        from zoo.weights import read_metadata, resolve

        # One model per name and tag: per-task folders (one model per task) are left out.
        tags = {name: [t for t in zoo.list_weights(name) if "per_task" not in read_metadata(resolve(name, t))]
                for name in zoo.list_models()}
        return {name: t for name, t in tags.items() if t}

    def model(self, name, weights):
        catalogue = self.catalogue()
        if name not in catalogue:
            raise BadRequest(f"unknown model {name!r}; valid: {', '.join(catalogue)}")
        if weights not in catalogue[name]:
            raise BadRequest(f"unknown weights {weights!r} of {name}; valid: {', '.join(catalogue[name])}")
        with self._lock:
            if (name, weights) not in self._models:
                import zoo

                self._models[name, weights] = zoo.load(name, weights=weights, compile=False)
            return self._models[name, weights]

    def answer(self, request):
        if not isinstance(request, dict):
            raise BadRequest("the request body must be a JSON object with model, weights, story and question")
        for key in ("model", "weights", "story", "question"):
            if not isinstance(request.get(key), str):
                raise BadRequest(f"{key!r} must be a string")
        if not request["story"].strip():
            raise BadRequest("the story is empty; give sentences, one per line or ending with '.'")
        if not request["question"].strip():
            raise BadRequest("the question is empty")
        from zoo.predict import split_story

        sentences = split_story(request["story"])
        if len(sentences) > MAX_SENTENCES:
            raise BadRequest(f"the story has {len(sentences)} sentences; at most {MAX_SENTENCES}")
        model = self.model(request["model"], request["weights"])
        with self._lock:  # one model call at a time: Keras models are not thread-safe to trace
            try:
                result = model.answer(sentences, request["question"])
            except ValueError as err:  # a story or question without words
                raise BadRequest(str(err)) from None
            if request.get("picture"):
                result["picture"] = self._picture(model, sentences, request["question"])
        return result

    @staticmethod
    def _picture(model, sentences, question):
        import matplotlib.pyplot as plt

        from zoo.plot import explain_figure

        fig = explain_figure(model, sentences, question)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=100)
        plt.close(fig)
        return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def make_app(answerer=None):
    """The Flask app (for tests and WSGI servers)."""
    try:
        from flask import Flask, jsonify, request
    except ImportError:
        raise ImportError('python -m zoo serve needs Flask: pip install "keras-memnet-zoo[serve]" '
                          "(or flask==3.1.3)") from None
    answerer = answerer or Answerer()
    app = Flask("zoo.serve")
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST

    @app.get("/")
    def page():
        return PAGE

    @app.get("/api/models")
    def models():
        return jsonify(answerer.catalogue())

    @app.post("/api/answer")
    def answer():
        body = request.get_json(silent=True)
        if body is None:
            return jsonify(error="the request body must be JSON (Content-Type: application/json)"), 400
        try:
            return jsonify(answerer.answer(body))
        except BadRequest as err:
            return jsonify(error=str(err)), 400

    @app.errorhandler(413)
    def too_large(_):
        return jsonify(error=f"the request is larger than {MAX_REQUEST // 1024} KB"), 413

    @app.errorhandler(404)
    def not_found(_):
        return jsonify(error="no such page; the page is / and the endpoint POST /api/answer"), 404

    @app.errorhandler(Exception)
    def failed(err):  # never a crash: the server stays up and says what went wrong
        code = getattr(err, "code", 500)
        return jsonify(error=f"{type(err).__name__}: {err}"), code if isinstance(code, int) else 500

    return app


def make_server(port=8000, answerer=None):
    """A werkzeug server on 127.0.0.1 (local address only); ``port`` 0 picks a free one (``server.port``)."""
    from werkzeug.serving import make_server as werkzeug_server

    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an integer from 0 to 65535, got {port!r}")
    return werkzeug_server("127.0.0.1", port, make_app(answerer), threaded=True)
