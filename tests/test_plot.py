"""zoo.plot: what explain gives, drawn over the sentences, for every registered model; predict --plot."""

import os

import numpy as np
import pytest

from tests.harness import specs, tiny
from zoo.__main__ import main
from zoo.data.vocab import Vocabulary
from zoo.plot import explain_figure, sentence_maps
from zoo.predict import encode, on_sentences

SPECS = specs()
STORY = ["w2 w3 w4.", "w5 w6 w7.", "w2 w8."]


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_every_model_draws_its_weights_over_the_sentences(spec, tmp_path):
    model = tiny(spec)
    object.__setattr__(model, "vocab", Vocabulary(["<pad>", "<unk>"] + [f"w{i}" for i in
                                                                        range(2, spec.tiny_config["vocab_size"])]))
    inputs, sentences = encode(model.vocab, STORY, "w3 w9?", model.get_config()["memory_size"])
    explained = on_sentences(model.explain(inputs), len(sentences))
    panels = sentence_maps(explained, sentences)
    assert panels, f"{spec.name}: nothing to draw from {sorted(explained)}"
    for title, matrix, labels in panels:
        assert matrix.shape == (len(sentences), len(labels)), title
    first = panels[0][1]  # the first panel is the weights of each hop or pass, in order, or EntNet's gates
    key = "gates" if "gates" in explained else sorted(k for k in explained if k.endswith(("_hop_1", "_pass_1"))
                                                       and not k.startswith("heads"))[0]
    column = explained[key][0] if key == "gates" else explained[key][0][:, None]
    np.testing.assert_allclose(first[:, : column.shape[1]], column, atol=1e-6)
    path = str(tmp_path / "a.png")
    fig = explain_figure(model, STORY, "w3 w9?", supporting=[1], path=path)
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[1].startswith("> ") and not labels[0].startswith("> ")
    assert "Q: w3 w9?" in fig._suptitle.get_text()
    with pytest.raises(FileExistsError):
        explain_figure(model, STORY, "w3 w9?", path=path)
    with pytest.raises(ValueError, match="name no sentence"):
        explain_figure(model, STORY, "w3 w9?", supporting=[3])


def test_predict_plot_writes_a_picture_and_refuses_to_overwrite(tmp_path, capsys):
    path = str(tmp_path / "mary.png")
    args = ["predict", "memn2n", "--weights", "babi-1k", "--story", "Mary moved to the bathroom. John went to "
            "the hallway.", "--question", "Where is Mary?", "--plot", path, "--supporting", "1"]
    assert main(args) == 0
    assert "answer: bathroom" in capsys.readouterr().out and os.path.getsize(path) > 1000
    assert main(args) == 2 and "exists" in capsys.readouterr().err
    assert main(args[:-1] + ["3", "--overwrite"]) == 2
    assert "sentences 1 to 2" in capsys.readouterr().err
    assert main(args[:-4] + ["--supporting", "1"]) == 2 and "give --plot" in capsys.readouterr().err
