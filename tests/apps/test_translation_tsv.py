"""The translation task on the user's TSV of sentence pairs: reader errors naming file and
line, the word-by-word and copy baselines, and the run.json contract through glassnet train."""
import json
import subprocess
import sys

import pytest

from glassnet.apps.translation import load_pairs, split_pairs
from glassnet.apps.translation_baselines import bleu, word_by_word, word_table
from glassnet.runs import get_task, read_run_json

COLOURS = {"red": "rouge", "blue": "bleu", "green": "vert", "black": "noir", "white": "blanc"}
THINGS = {"car": "voiture", "house": "maison", "door": "porte", "table": "table",
          "chair": "chaise", "cup": "tasse"}


def _tsv(path):
    lines = [f"the {c} {t}\tla {ft} {fc}\tattribution" for t, ft in THINGS.items()
             for c, fc in COLOURS.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_reader_errors_name_file_and_line(tmp_path):
    p = _tsv(tmp_path / "pairs.tsv")
    pairs = load_pairs(p, prefixes=None)
    assert len(pairs) == 30 and pairs[0] == (["the", "red", "car"], ["la", "voiture", "rouge"])
    bad = tmp_path / "bad.tsv"
    bad.write_text("a b\tc d\n\nno tab here\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.tsv: line 3: expected 'source<TAB>target'"):
        load_pairs(bad, prefixes=None)
    bad.write_text("a b\tc d\n\t x\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.tsv: line 2: expected 'source<TAB>target'"):
        load_pairs(bad, prefixes=None)
    bad.write_bytes(b"a\tb\nc\t\xff\xfe\n")
    with pytest.raises(ValueError, match=r"bad\.tsv: line 2: not UTF-8"):
        load_pairs(bad, prefixes=None)


def test_word_table_and_baseline_bleu(tmp_path):
    pytest.importorskip("sacrebleu")
    pairs = load_pairs(_tsv(tmp_path / "p.tsv"), prefixes=None)
    table = word_table(pairs)
    assert all(table[e] == f for e, f in {**COLOURS, **THINGS}.items())
    assert word_by_word(table, ["the", "red", "zebra"]) == ["la", "rouge", "zebra"]
    ref = ["la", "voiture", "rouge", "est", "ici", "."]
    test = [(["the", "red", "car", "is", "here", "."], [ref])]
    assert bleu([ref], test) == pytest.approx(100.0)
    import sacrebleu
    direct = sacrebleu.corpus_bleu(["the red car is here."], [["la voiture rouge est ici."]])
    assert bleu([["the", "red", "car", "is", "here", "."]], test) == pytest.approx(direct.score)
    assert direct.score < 10


def test_tsv_run_writes_the_contract(tmp_path):
    pytest.importorskip("sacrebleu")
    data = _tsv(tmp_path / "p.tsv")
    recipe = tmp_path / "t.toml"
    recipe.write_text(f'task = "translation"\ndata = "{data}"\nmin_count = 1\nemb = 8\n'
                      f'hidden = 8\nepochs = 1\nbeam = 2\ntest_fraction = 0.2\n')
    run = tmp_path / "run"
    out = subprocess.run([sys.executable, "-m", "glassnet", "train", str(recipe), "--out",
                          str(run)], check=True, capture_output=True, text=True,
                         timeout=300).stdout
    assert "| baselines: copy_source bleu " in out and "; word_by_word bleu " in out
    rec = read_run_json(run)
    assert rec["task"] == "translation" and set(rec["test"]) == {"bleu_greedy", "bleu_beam2",
                                                                 "loss"}
    assert set(rec["baselines"]) == {"copy_source", "word_by_word"}
    train, test = split_pairs(load_pairs(data, prefixes=None), 0.2, seed=0)
    table = word_table(train)
    want = bleu([word_by_word(table, s) for s, _ in test], test)
    assert rec["baselines"]["word_by_word"]["bleu"] == pytest.approx(want, abs=0.01)
    assert json.loads((run / "results.json").read_text())["test_sources"] == len(test)
    pred = subprocess.run([sys.executable, "-m", "glassnet", "predict", str(run), "the red car"],
                          check=True, capture_output=True, text=True, timeout=120).stdout
    assert pred.strip() != ""


def test_translation_is_a_registered_task():
    assert "TSV" in get_task("translation").formats
