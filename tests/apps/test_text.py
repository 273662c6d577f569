"""glassnet.apps.text, the older char-LSTM app: its runs still load for ``glassnet generate``
(sampling reproducible, greedy at top-k 1, bad input reported in one line), and a
``task = "text"`` recipe trains through the ``text_generation`` task with its keys mapped."""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from glassnet import manual_seed
from glassnet.apps import text as T
from glassnet.cli import main
from glassnet.io import save_weights
from glassnet.runs import read_run_json

DATA = Path(os.environ.get("GLASSNET_DATA")
            or Path(__file__).resolve().parents[2] / ".." / "shared" / "data")
SHAKESPEARE = DATA / "tinyshakespeare" / "input.txt"
needs_data = pytest.mark.skipif(not SHAKESPEARE.is_file(), reason=f"Tiny Shakespeare not "
                                f"found at {SHAKESPEARE} (set GLASSNET_DATA to the shared "
                                f"data folder)")

TINY = dict(emb=16, hidden=32, batch_size=8, seq=32, lr=0.01, steps=60, eval_every=30,
            max_chars=30000, val_chars=0, data_dir=str(DATA))
CHARS = "\n !,.:;?ABCDEIMNORSUaehilmnorstu"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run folder as the older app wrote it: task = "text" recipe, vocab.json, weights."""
    run_dir = tmp_path_factory.mktemp("text") / "run"
    run_dir.mkdir()
    recipe = T.TextRecipe(emb=8, hidden=16)
    (run_dir / "recipe.toml").write_text(recipe.to_toml())
    (run_dir / "vocab.json").write_text(json.dumps({"chars": CHARS}))
    manual_seed(0)
    model = T.CharLSTM(len(CHARS), 8, 16)
    save_weights(model, run_dir / "weights.safetensors")
    (run_dir / "run.json").write_text(json.dumps({"steps": 0}))
    return run_dir, model


def test_an_old_run_loads_with_its_weights(run):
    run_dir, model = run
    loaded, chars = T.load_text_run(run_dir)
    assert chars == CHARS and not loaded.training
    ids = np.array([[CHARS.index(c) for c in "ROMEO: "]])
    model.eval()
    np.testing.assert_array_equal(loaded(ids)[0].numpy(), model(ids)[0].numpy())


def test_generate_is_reproducible_and_has_the_right_length(run):
    run_dir, _ = run
    a = T.generate(run_dir, "ROMEO:", 80, 0.8, seed=3)
    assert a == T.generate(run_dir, "ROMEO:", 80, 0.8, seed=3)
    assert a.startswith("ROMEO:") and len(a) == len("ROMEO:") + 80
    others = {T.generate(run_dir, "ROMEO:", 80, 0.8, seed=s) for s in (4, 5, 6)}
    assert len(others | {a}) > 1                     # the seed matters when sampling
    assert len(T.generate(run_dir, "", 10, 1.0, seed=0)) == 10
    assert T.generate(run_dir, "ROMEO:", 0, 1.0, seed=0) == "ROMEO:"


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
    with pytest.raises(ValueError, match="task: expected one of text, got 'speech'"):
        T.TextRecipe(task="speech")
    with pytest.raises(ValueError, match="hidden: expected >= 1, got 0"):
        T.TextRecipe(hidden=0)


def test_old_keys_map_to_text_generation():
    new = T.as_text_generation(T.TextRecipe(**{**TINY, "minutes": 2.5, "val_fraction": 0.2}))
    assert new.task == "text_generation" and new.data == "tinyshakespeare/input.txt"
    assert (new.max_minutes, new.max_steps) == (2.5, 60)
    assert new.val_fraction == new.test_fraction == pytest.approx(0.1)   # the same held-out tail
    for key in ("emb", "hidden", "batch_size", "seq", "lr", "eval_every", "max_chars", "seed"):
        assert getattr(new, key) == TINY.get(key, getattr(T.TextRecipe(), key)), key
    with pytest.raises(ValueError, match='epochs = 2: task "text" recipes are trained by task '
                                         '"text_generation".*max_steps'):
        T.as_text_generation(T.TextRecipe(epochs=2))


def test_glassnet_train_refuses_epochs_of_an_old_recipe_in_one_line(tmp_path, capsys):
    recipe = tmp_path / "r.toml"
    recipe.write_text('task = "text"\nepochs = 3\n')
    assert main(["train", str(recipe), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and '"text_generation"' in err and "max_steps" in err
    assert not (tmp_path / "run").exists()


@needs_data
def test_glassnet_train_routes_text_recipes_to_text_generation(tmp_path, capsys):
    recipe = tmp_path / "r.toml"
    recipe.write_text('task = "text"\n' + "".join(
        f"{k} = {json.dumps(v)}\n" for k, v in {**TINY, "steps": 4, "eval_every": 2,
                                                 "max_chars": 5000}.items()))
    assert main(["train", str(recipe), "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert out.startswith('text: task "text" recipes are trained by task "text_generation"')
    assert "Total params: " in out and "text_generation: test nats_per_char " in out
    rec = read_run_json(tmp_path / "run")
    assert rec["task"] == "text_generation" and rec["steps"] == 4
    assert 'task = "text_generation"' in (tmp_path / "run" / "recipe.toml").read_text()
    assert len(T.generate(tmp_path / "run", "RO", 5, seed=0)) == 7     # generate works on it
    assert main(["train", str(recipe), "--out", str(tmp_path / "run"), "--quiet"]) == 2
    assert "--overwrite" in capsys.readouterr().err
