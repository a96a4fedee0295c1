"""benchmarks/leaderboard.py: one row per shipped weight folder, its figures from the model card."""

import glob
import json
import os

from benchmarks.leaderboard import ROOT, main


def test_the_leaderboard_has_every_shipped_folder_with_its_card_figures(tmp_path):
    table, png = str(tmp_path / "board.md"), str(tmp_path / "board.png")
    main(["--markdown", table, "--png", png])
    lines = open(table).read().splitlines()
    metas = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(ROOT, "saved_models", "*", "*",
                                                                       "metadata.json")))]
    assert len(lines) == 2 + len(metas)
    for meta, line in zip(metas, lines[2:]):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells[0] == meta["model"] and cells[1] == meta["tag"]
        assert abs(float(cells[-4].strip("*")) - meta["valid"]["mean_error"]) < 0.01
    assert "7.54 (joint" in open(table).read()
    assert open(png, "rb").read(4) == b"\x89PNG"
