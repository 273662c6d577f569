"""glassnet.apps.music: piano rolls, the per-frame NLL against PyTorch, MIDI round trip with
mido, and a few training steps on a slice of the real JSB Chorales."""
import os
from pathlib import Path

import numpy as np
import pytest

from glassnet.apps import music as M

DATA = Path(os.environ.get("GLASSNET_DATA")
            or Path(__file__).resolve().parents[2] / ".." / "shared" / "data")
JSB = DATA / "music" / "jsb-chorales-quarter.json"
needs_data = pytest.mark.skipif(not JSB.is_file(), reason=f"JSB Chorales not found at {JSB} "
                                "(set GLASSNET_DATA to the shared data folder)")


def test_to_roll_and_batches():
    pieces = [[[60, 64, 67], [], [62]], [[48], [50]]]
    rolls = [M.to_roll(p) for p in pieces]
    assert rolls[0].shape == (3, 88) and rolls[0].sum() == 4
    assert rolls[0][0, 60 - M.LOWEST] == 1
    (x, y, m), = list(M.batches(rolls, 4))
    assert x.shape == y.shape == (2, 3, 88) and m.shape == (2, 3)
    assert (x[:, 0] == 0).all() and (x[:, 1:] == y[:, :-1]).all()    # shifted behind a zero frame
    assert m.sum() == 5
    with pytest.raises(ValueError, match="outside the piano"):
        M.to_roll([[12]])


def test_frame_nll_matches_torch():
    torch = pytest.importorskip("torch")
    import glassnet as gn
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((3, 5, 88)).astype(np.float32)
    target = (rng.random((3, 5, 88)) < 0.05).astype(np.float32)
    mask = np.ones((3, 5), np.float32)
    mask[1, 3:] = 0
    z = gn.tensor(logits, requires_grad=True)
    ours = M.frame_nll(z, target, mask)
    ours.backward()
    tz = torch.tensor(logits, requires_grad=True)
    per = torch.nn.functional.binary_cross_entropy_with_logits(tz, torch.tensor(target),
                                                               reduction="none").sum(-1)
    ref = (per * torch.tensor(mask)).sum() / mask.sum()
    ref.backward()
    np.testing.assert_allclose(ours.item(), ref.item(), rtol=1e-5)
    np.testing.assert_allclose(z.grad.numpy(), tz.grad.numpy(), rtol=1e-5, atol=1e-7)


@needs_data
def test_midi_round_trip_of_a_real_chorale(tmp_path):
    mido = pytest.importorskip("mido")
    roll = M.to_roll(M.load_jsb(DATA)["test"][0])
    path = M.roll_to_midi(roll, tmp_path / "c.mid")
    mid = mido.MidiFile(path)
    assert mid.ticks_per_beat == 480 and len(mid.tracks) == 1
    ons = [m for m in mid.tracks[0] if m.type == "note_on"]
    assert ons and all(21 <= m.note <= 108 for m in ons)
    back = M.midi_to_roll(path)
    last = np.flatnonzero(roll.any(1)).max() + 1
    np.testing.assert_array_equal(back, roll[:last])


@needs_data
def test_training_on_a_slice_lowers_the_nll_and_writes_sample(tmp_path):
    pytest.importorskip("mido")
    pytest.importorskip("matplotlib")
    recipe = M.MusicRecipe(max_pieces=12, epochs=4, batch_size=4, hidden=32, lr=0.01,
                           sample_steps=12,
                           data_dir=str(DATA))
    res = M.train_music(recipe, tmp_path / "run", verbose=False)
    nll = [r["train_nll"] for r in res["history"]]
    assert nll[-1] < nll[0] - 0.3, nll
    assert np.isfinite(res["test_nll"]) and res["test_nll"] < 88 * np.log(2)
    roll = M.midi_to_roll(tmp_path / "run" / "sample.mid")
    assert roll.shape[1] == 88 and roll.shape[0] <= 12
    png = (tmp_path / "run" / "sample.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    model, loaded = M.load_music_run(tmp_path / "run")
    assert loaded == recipe and not model.training


def test_sample_limits_voices():
    import glassnet as gn
    gn.manual_seed(0)
    model = M.MusicLSTM(16)
    model.out.bias.array[...] = 5.0               # every key very likely: the cap must hold
    roll = M.sample(model, 6, max_notes=4)
    assert roll.shape == (6, 88) and (roll.sum(1) == 4).all()


def test_recipe_validation():
    with pytest.raises(ValueError, match="resolution"):
        M.MusicRecipe(resolution="32nd")
    with pytest.raises(ValueError, match="clip"):
        M.MusicRecipe(clip=0)
    with pytest.raises(ValueError, match="patience"):
        M.MusicRecipe(patience=-1)
    with pytest.raises(ValueError, match="plateau"):
        M.MusicRecipe(plateau=1.5)


@needs_data
def test_early_stopping_keeps_the_best_epoch_and_halves_the_lr(tmp_path):
    pytest.importorskip("mido")
    pytest.importorskip("matplotlib")
    # a big net on 6 chorales overfits at once: validation NLL soon stops improving
    recipe = M.MusicRecipe(max_pieces=6, epochs=40, batch_size=2, hidden=64, dropout=0.0,
                           lr=0.02, plateau=1, patience=3, sample_steps=4, data_dir=str(DATA))
    res = M.train_music(recipe, tmp_path / "run", verbose=False)
    hist = res["history"]
    valid = [h["valid_nll"] for h in hist]
    assert len(hist) < 40 and len(hist) == res["best_epoch"] + 3
    assert res["valid_nll"] == min(valid) == valid[res["best_epoch"] - 1]
    assert hist[-1]["lr"] < 0.02                          # halved on the plateau
    model, _ = M.load_music_run(tmp_path / "run")         # the kept weights are the best ones
    rolls = [M.to_roll(p) for p in M.load_jsb(DATA)["valid"][:6]]
    assert M.evaluate_nll(model, rolls) == pytest.approx(res["valid_nll"], rel=1e-5)
