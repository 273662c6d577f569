"""Task ``text_generation``: a char-LSTM on a small text through fit, truncated BPTT with the
state carried, early stopping keeping the best weights, n-gram baselines, generate/predict."""
import json
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest

import glassnet as gn
from glassnet.cli import main
from glassnet.runs.text_generation import (CarriedState, CharLM, ClipGradNorm, StreamChunks,
                                           TextGenerationRecipe, ngram_nats,
                                           train_text_generation)

WORDS = ["the cat ", "sat on ", "a mat. ", "and the dog ", "ran far.\n"]


def small_text(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    return "".join(WORDS[i] for i in rng.integers(0, len(WORDS), n))


def small_recipe(path, **kw):
    keys = dict(data=str(path), emb=16, hidden=32, batch_size=8, seq=20, eval_every=25,
                lr=0.01, patience=3, max_steps=300, val_chars=0)
    keys.update(kw)
    return TextGenerationRecipe(**keys)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("tg")
    data = tmp / "words.txt"
    data.write_text(small_text(), encoding="utf-8")
    record = train_text_generation(small_recipe(data), tmp / "run", verbose=False)
    return tmp, data, record


def test_learns_the_text_beats_ngrams_and_writes_the_contract(run):
    tmp, _, rec = run
    assert set(rec) >= {"task", "test", "baselines"} and rec["task"] == "text_generation"
    assert rec == json.loads((tmp / "run" / "run.json").read_text())
    test, base = rec["test"]["nats_per_char"], rec["baselines"]
    assert test < 0.5 * base["bigram"]["nats_per_char"] < base["unigram"]["nats_per_char"]
    assert rec["test"]["bits_per_char"] == pytest.approx(test / np.log(2), abs=1e-3)


def test_early_stopping_keeps_the_best_checks_weights(run):
    tmp, _, rec = run
    rows = [json.loads(line) for line in (tmp / "run" / "metrics.jsonl").read_text().splitlines()]
    best = min(r["val_loss"] for r in rows)
    # val_chars = 0: each check reads the whole validation part, as the final figure does
    assert rec["validation"]["nats_per_char"] == pytest.approx(best, abs=1e-4)
    assert rec["steps"] <= 300 and rec["best_step"] <= rec["steps"]
    if rec["stop_reason"] == "early_stopping":
        assert rows[-1]["val_loss"] > best


def test_ngram_baselines_match_counting_by_hand():
    rng = np.random.default_rng(0)
    train, test, V = rng.integers(0, 5, 400), rng.integers(0, 6, 50), 6
    uni = Counter(train.tolist())
    want1 = -np.mean([np.log((uni[c] + 1) / (len(train) + V)) for c in test[1:]])
    pairs = Counter(zip(train[:-1].tolist(), train[1:].tolist()))
    prev = Counter(train[:-1].tolist())
    want2 = -np.mean([np.log((pairs[(a, b)] + 1) / (prev[a] + V))
                      for a, b in zip(test[:-1].tolist(), test[1:].tolist())])
    assert ngram_nats(train, test, V, 1) == pytest.approx(want1, rel=1e-12)
    assert ngram_nats(train, test, V, 2) == pytest.approx(want2, rel=1e-12)


def test_carried_state_equals_one_pass_over_the_whole_sequence():
    gn.manual_seed(0)
    lm = CharLM(7, emb=5, hidden=6, layers=2, dropout=0.3).eval()
    ids = np.random.default_rng(1).integers(0, 7, (3, 24))
    whole = lm(ids)[0].numpy()
    model = CarriedState(lm).eval()
    chunks = StreamChunks(ids, seq=8)
    got = [model(x).numpy() for x, _ in chunks]
    np.testing.assert_allclose(np.concatenate(got, axis=1), whole[:, :16], rtol=1e-5, atol=1e-6)
    (x0, fresh), y0 = next(iter(chunks))                       # a new pass starts fresh
    assert fresh and np.array_equal(y0, ids[:, 1:9])
    np.testing.assert_allclose(model((x0, True)).numpy(), whole[:, :8], rtol=1e-5, atol=1e-6)


def test_gradients_stop_at_the_chunk_start_and_clipping_bounds_the_norm():
    gn.manual_seed(0)
    lm = CharLM(5, emb=4, hidden=4)
    model = CarriedState(lm)
    ids = np.random.default_rng(2).integers(0, 5, (2, 12))
    model((ids[:, :6], True))
    out = model((ids[:, 6:], False))                          # starts from a detached state
    opt = ClipGradNorm(gn.optim.SGD(lm.parameters(), lr=0.0), max_norm=1e-3)
    opt.zero_grad()
    (out * 100).sum().backward()
    opt.step()
    norm = np.sqrt(sum(float((p.grad.numpy() ** 2).sum()) for p in lm.parameters()))
    assert norm == pytest.approx(1e-3, rel=1e-4)


def test_generate_and_predict_through_the_cli(run, capsys, tmp_path):
    tmp, data, _ = run
    assert main(["generate", str(tmp / "run"), "--prompt", "the ", "--length", "40",
                 "--seed", "0"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("the ") and len(text.rstrip("\n")) >= 40
    sample = tmp_path / "s.txt"
    sample.write_text("the cat sat on a mat. and the dog ran far.\n", encoding="utf-8")
    assert main(["predict", str(tmp / "run"), str(sample)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["nats_per_char"] < 1.0
    sample.write_text("the cat\nsat on a Zebra\n", encoding="utf-8")
    assert main(["predict", str(tmp / "run"), str(sample)]) == 2
    assert f"{sample}:2: character 'Z'" in capsys.readouterr().err


def test_recipe_cli_budget_and_errors(tmp_path, capsys):
    data = tmp_path / "w.txt"
    data.write_text(small_text(1500, seed=3), encoding="utf-8")
    recipe = tmp_path / "r.toml"
    recipe.write_text(small_recipe(data, max_steps=30).to_toml())
    assert main(["train", str(recipe), "--out", str(tmp_path / "run"), "--quiet",
                 "--set", "max_steps=10"]) == 0
    rec = json.loads((tmp_path / "run" / "run.json").read_text())
    assert rec["steps"] == 10 and rec["stop_reason"] == "budget"
    assert main(["train", str(recipe), "--set", "dropout=1.5", "--quiet"]) == 2
    assert "dropout: expected in [0, 1), got 1.5" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine line\nna\xefve\n")
    with pytest.raises(ValueError, match=r"bad.txt:2: not UTF-8"):
        train_text_generation(small_recipe(bad), tmp_path / "r2", verbose=False)
    assert not (tmp_path / "r2").exists()                    # refused before writing a run


def test_generate_args_are_checked_before_loading():
    from glassnet.runs.text_generation import cmd_generate
    with pytest.raises(ValueError, match="--temperature"):
        cmd_generate(SimpleNamespace(run_dir=".", temperature=0, top_k=None, length=5,
                                     prompt="a", seed=0))


def test_the_example_is_a_thin_wrapper_over_the_task(tmp_path, monkeypatch, capsys):
    import runpy
    import sys
    from pathlib import Path
    data = tmp_path / "w.txt"
    data.write_text(small_text(800), encoding="utf-8")
    example = Path(__file__).resolve().parents[2] / "examples" / "char_lstm.py"
    sets = [f"data={json.dumps(str(data))}", "hidden=8", "emb=4", "max_steps=3",
            "max_minutes=0", "seq=10", "batch_size=4", "val_chars=0"]
    monkeypatch.setattr(sys, "argv", ["char_lstm.py", "--out", str(tmp_path / "run"),
                                      *[a for s in sets for a in ("--set", s)]])
    runpy.run_path(str(example), run_name="__main__")
    rec = json.loads((tmp_path / "run" / "run.json").read_text())
    assert rec["task"] == "text_generation" and rec["steps"] == 3
    assert len(capsys.readouterr().out) > 300                  # and a sample is printed
