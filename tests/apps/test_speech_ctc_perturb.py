"""Training perturbations of glassnet.apps.speech_ctc beyond speed/gain/SpecAugment: the
``vtlp`` key reaching the training features (the warp itself, ``log_mel(warp=)``, is tested
with apps.speech), the random low-pass channel (against the spectrum of filtered white
noise), and their recipe keys."""
import numpy as np
import pytest

from glassnet.apps import speech_ctc as SC
from glassnet.cli import main


def tone(freq, seconds=1.0):
    t = np.arange(int(8000 * seconds)) / 8000
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_vtlp_changes_training_features_only():
    clips = [tone(300 + 150 * i, 0.2) for i in range(10)]
    digits = list(range(10))
    kw = {"augment": {"speed": 0.0, "gain_db": 0.0}, "fresh": True}
    plain = list(SC.UtteranceSet(clips, digits, 6, 6, seed=2, **kw))
    aug = {"speed": 0.0, "gain_db": 0.0, "vtlp": 0.1}
    warped = list(SC.UtteranceSet(clips, digits, 6, 6, seed=2, fresh=True, augment=aug))
    again = list(SC.UtteranceSet(clips, digits, 6, 6, seed=2, fresh=True, augment=aug))
    (xp, yp), (xw, yw), (xa, ya) = plain[0], warped[0], again[0]
    assert np.array_equal(yp, yw) and xp.shape == xw.shape                # same utterances
    assert not np.allclose(xp, xw)                                        # warped features
    assert np.array_equal(xw, xa) and np.array_equal(yw, ya)              # deterministic
    fixed = [list(SC.UtteranceSet(clips, digits, 6, 6, seed=2, augment=a)) for a in (None, aug)]
    assert np.array_equal(fixed[0][0][0], fixed[1][0][0])   # no warp on a fixed (eval) set


@pytest.mark.parametrize("key, value", [("vtlp", "0.5"), ("vtlp", "-0.1"), ("lowpass", "1.5"),
                                        ("lowpass", "-1")])
def test_perturbation_recipe_keys_are_validated(tmp_path, capsys, key, value):
    recipe = tmp_path / "r.toml"
    recipe.write_text('task = "speech_ctc"\n')
    assert main(["train", str(recipe), "--out", str(tmp_path / "run"),
                 "--set", f"{key}={value}"]) == 2
    assert key in capsys.readouterr().err


def band_db(x, lo, hi):
    f = np.fft.rfftfreq(len(x), 1 / 8000)
    p = np.abs(np.fft.rfft(x)) ** 2
    return 10 * np.log10(p[(f >= lo) & (f < hi)].mean())


@pytest.mark.parametrize("cutoff", [1000.0, 2000.0, 3500.0])
def test_lowpass_filter_keeps_the_low_band_and_removes_the_high_one(cutoff):
    x = np.random.default_rng(0).normal(0, 0.1, 16000).astype(np.float32)
    y = SC.lowpass_filter(x, cutoff)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert abs(band_db(y, 50, cutoff / 2) - band_db(x, 50, cutoff / 2)) < 0.5
    assert band_db(y, cutoff - 20, cutoff + 20) - band_db(x, cutoff - 20, cutoff + 20) == \
        pytest.approx(-3.0, abs=0.6)                              # Butterworth: -3 dB at cutoff
    if cutoff * 1.8 < 4000:
        assert band_db(y, cutoff * 1.8, 4000) < band_db(x, cutoff * 1.8, 4000) - 18
    with pytest.raises(ValueError, match="cutoff"):
        SC.lowpass_filter(x, 4000.0)


def test_lowpass_in_build_utterance_changes_only_the_sound():
    clips = [tone(300 + 350 * i, 0.2) for i in range(10)]
    digits = list(range(10))
    plain = SC.build_utterance(clips, digits, np.random.default_rng(4), noise=0.001)
    never = SC.build_utterance(clips, digits, np.random.default_rng(4), noise=0.001, lowpass=0.0)
    assert np.array_equal(plain[0], never[0])                      # off: the same draws
    changed = 0
    for seed in range(8):
        a = SC.build_utterance(clips, digits, np.random.default_rng(seed))
        b = SC.build_utterance(clips, digits, np.random.default_rng(seed), lowpass=1.0)
        assert a[1] == b[1] and a[2] == b[2] and len(a[0]) == len(b[0])
        assert band_db(b[0], 3600, 4000) < band_db(a[0], 3600, 4000) - 3
        changed += not np.allclose(a[0], b[0])
    assert changed == 8
