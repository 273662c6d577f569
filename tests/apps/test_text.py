"""glassnet.apps.text: the char-LSTM trains on a slice of Tiny Shakespeare, sampling is
reproducible and greedy at top-k 1, and ``glassnet generate`` reports bad input in one line."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from glassnet import manual_seed
from glassnet.apps import text as T
from glassnet.cli import main

DATA = Path(os.environ.get("GLASSNET_DATA")
            or Path(__file__).resolve().parents[2] / ".." / "shared" / "data")
SHAKESPEARE = DATA / "tinyshakespeare" / "input.txt"
needs_data = pytest.mark.skipif(not SHAKESPEARE.is_file(), reason=f"Tiny Shakespeare not "
                                f"found at {SHAKESPEARE} (set GLASSNET_DATA to the shared "
                                f"data folder)")

TINY = dict(emb=16, hidden=32, batch_size=8, seq=32, lr=0.01, steps=60, eval_every=30,
            max_chars=30000, val_chars=0, data_dir=str(DATA))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if not SHAKESPEARE.is_file():
        pytest.skip(f"Tiny Shakespeare not found at {SHAKESPEARE}")
    run_dir = tmp_path_factory.mktemp("text") / "run"
    res = T.train_text(T.TextRecipe(**TINY), run_dir, verbose=False)
    return run_dir, res


@needs_data
def test_training_reduces_validation_loss(run):
    run_dir, res = run
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [30, 60] and res["steps"] == 60
    chars = json.loads((run_dir / "vocab.json").read_text())["chars"]
    uniform = np.log(len(chars))                     # loss of the untrained, near-uniform model
    model, _ = T.load_text_run(run_dir)
    manual_seed(1)
    fresh = T.CharLSTM(len(chars), 16, 32)
    val = T.load_text(DATA, 30000)[27000:]
    val_ids = np.array([chars.index(c) for c in val], np.int64)
    assert T.evaluate_text(fresh, val_ids) > uniform - 0.1
    assert res["val_nats_per_char"] == pytest.approx(T.evaluate_text(model, val_ids), abs=1e-3)
    assert res["val_nats_per_char"] < uniform - 0.8            # ~4.2 → well under 3.4
    assert rows[-1]["train_loss"] < uniform - 0.8
    assert not any(p.suffix in (".pkl", ".pickle", ".pt") for p in run_dir.iterdir())


@needs_data
def test_generate_is_reproducible_and_has_the_right_length(run):
    run_dir, _ = run
    a = T.generate(run_dir, "ROMEO:", 80, 0.8, seed=3)
    assert a == T.generate(run_dir, "ROMEO:", 80, 0.8, seed=3)
    assert a.startswith("ROMEO:") and len(a) == len("ROMEO:") + 80
    others = {T.generate(run_dir, "ROMEO:", 80, 0.8, seed=s) for s in (4, 5, 6)}
    assert len(others | {a}) > 1                     # the seed matters when sampling
    assert len(T.generate(run_dir, "", 10, 1.0, seed=0)) == 10
    assert T.generate(run_dir, "ROMEO:", 0, 1.0, seed=0) == "ROMEO:"


@needs_data
def test_top_k_1_is_greedy(run):
    run_dir, _ = run
    greedy = {T.generate(run_dir, "MENENIUS:", 40, 1.5, top_k=1, seed=s) for s in (0, 1, 2)}
    assert len(greedy) == 1
    model, chars = T.load_text_run(run_dir)          # argmax decoding written out by hand
    stoi = {c: i for i, c in enumerate(chars)}
    logits, state = model(np.array([[stoi[c] for c in "MENENIUS:"]]))
    out = "MENENIUS:"
    for _ in range(40):
        nxt = int(logits.numpy()[0, -1].argmax())
        out += chars[nxt]
        logits, state = model(np.array([[nxt]]), state)
    assert greedy == {out}


@needs_data
def test_cli_generate_and_errors(run, capsys):
    run_dir, _ = run
    assert main(["generate", str(run_dir), "--prompt", "ROMEO:", "--length", "30",
                 "--temperature", "0.8", "--top-k", "5", "--seed", "0"]) == 0
    printed = capsys.readouterr().out
    assert printed == T.generate(run_dir, "ROMEO:", 30, 0.8, top_k=5, seed=0) + "\n"
    for argv, needle in [([str(run_dir.parent / "missing")], "no such run directory"),
                         ([str(run_dir), "--temperature", "0"], "--temperature"),
                         ([str(run_dir), "--temperature", "-1"], "--temperature"),
                         ([str(run_dir), "--top-k", "0"], "--top-k"),
                         ([str(run_dir), "--prompt", "ROMEO\u00e9"], "vocabulary")]:
        assert main(["generate", *argv]) == 2
        err = capsys.readouterr().err
        assert err.startswith("glassnet: error:") and needle in err
        assert err.count("\n") == 1, err


def test_sample_argument_errors():
    manual_seed(0)
    model = T.CharLSTM(3, 4, 8)
    assert len(T.sample(model, "abc", "ab", 5, seed=0)) == 7
    for kw, needle in [(dict(temperature=0.0), "temperature"), (dict(top_k=0), "top_k"),
                       (dict(length=-1), "length")]:
        args = {"length": 5, **kw}
        with pytest.raises(ValueError, match=needle):
            T.sample(model, "abc", "ab", args.pop("length"), seed=0, **args)
    with pytest.raises(ValueError, match="task"):
        T.TextRecipe(task="speech")
    with pytest.raises(ValueError, match="hidden"):
        T.TextRecipe(hidden=0)


@needs_data
def test_glassnet_train_dispatches_text_recipes(tmp_path, capsys):
    recipe = tmp_path / "r.toml"
    recipe.write_text('task = "text"\n' + "".join(
        f"{k} = {json.dumps(v)}\n" for k, v in {**TINY, "steps": 3, "eval_every": 3,
                                                 "max_chars": 5000}.items()))
    assert main(["train", str(recipe), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    assert "nats/char" in capsys.readouterr().out
    assert (tmp_path / "run" / "weights.safetensors").is_file()
    assert main(["train", str(recipe), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err
