"""glassnet.apps.speech_augment (speed/gain perturbation, SpecAugment masks, normalisation)
and the isolated-digit recipe's new-speaker options (valid_speaker, features, augmentation)."""
import os
from pathlib import Path

import numpy as np
import pytest

from glassnet.apps import speech as S
from glassnet.apps.speech_augment import normalise, perturb, spec_augment

DATA = Path(os.environ.get("GLASSNET_DATA")
            or Path(__file__).resolve().parents[2] / ".." / "shared" / "data")
FSDD = DATA / "fsdd" / "recordings"
needs_data = pytest.mark.skipif(not FSDD.is_dir(), reason=f"FSDD recordings not found at "
                                f"{FSDD} (set GLASSNET_DATA to the shared data folder)")


def dominant_hz(x, rate=8000):
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return np.fft.rfftfreq(len(x), 1 / rate)[spec.argmax()]


def test_speed_perturbation_resamples_tempo_and_pitch_together():
    t = np.arange(8000) / 8000
    tone = np.sin(2 * np.pi * 500 * t).astype(np.float32)
    for seed in range(5):
        factor = np.random.default_rng(seed).uniform(0.8, 1.2)    # what perturb will draw
        out = perturb(tone, np.random.default_rng(seed), speed=0.2)
        assert abs(len(out) - 8000 / factor) <= 1
        assert abs(dominant_hz(out) - 500 * factor) < 5
    assert np.array_equal(perturb(tone, np.random.default_rng(0)), tone)     # all off


def test_gain_perturbation_scales_within_the_range():
    x = np.random.default_rng(0).normal(size=1000).astype(np.float32)
    ratios = [np.std(perturb(x, np.random.default_rng(s), gain_db=6)) / np.std(x)
              for s in range(50)]
    assert 10 ** (-6 / 20) - 1e-6 <= min(ratios) and max(ratios) <= 10 ** (6 / 20) + 1e-6
    assert max(ratios) > 1.5 and min(ratios) < 0.67
    a = perturb(x, np.random.default_rng(3), 0.1, 6)
    assert np.array_equal(a, perturb(x, np.random.default_rng(3), 0.1, 6))    # seeded


def test_spec_augment_zeroes_whole_rows_and_columns_only():
    f = np.random.default_rng(0).normal(size=(50, 20)).astype(np.float32) + 5
    out = spec_augment(f, np.random.default_rng(1), time_masks=2, time_width=10,
                       freq_masks=2, freq_width=6)
    zero = out == 0
    rows, cols = zero.all(1), zero.all(0)
    assert np.array_equal(zero, rows[:, None] | cols[None, :])
    assert rows.sum() <= 20 and cols.sum() <= 12
    assert np.array_equal(out[~zero], f[~zero]) and f.min() > 0          # input untouched
    assert np.array_equal(spec_augment(f, np.random.default_rng(0), time_masks=0,
                                       freq_masks=0), f)


def test_normalise_per_utterance_and_with_stats():
    f = np.random.default_rng(0).normal(3, 2, size=(40, 8))
    u = normalise(f)
    np.testing.assert_allclose(u.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(u.std(0), 1, atol=1e-4)
    m, s = np.arange(8.0), np.full(8, 2.0)
    np.testing.assert_allclose(normalise(f, (m, s)), (f - m) / s, rtol=1e-6)


def test_speech_recipe_checks_the_new_options():
    with pytest.raises(ValueError, match="valid_speaker"):
        S.SpeechRecipe(split="speaker", test_speaker="theo", valid_speaker="theo")
    with pytest.raises(ValueError, match="valid_speaker"):
        S.SpeechRecipe(split="random", valid_speaker="jackson")
    with pytest.raises(ValueError, match="features"):
        S.SpeechRecipe(features="cepstral")
    with pytest.raises(ValueError, match="speed"):
        S.SpeechRecipe(speed=0.7)


@needs_data
def test_augmented_training_reports_the_validation_speaker(tmp_path):
    recipe = S.SpeechRecipe(split="speaker", test_speaker="theo", valid_speaker="jackson",
                            features="utterance", speed=0.1, gain_db=6, spec_augment=True,
                            epochs=2, max_files=120, channels=8, hidden=8, batch_size=16)
    res = S.train_speech(recipe, tmp_path / "run", verbose=False)
    assert res["n_valid"] == 20 and res["n_test"] == 20 and res["n_train"] == 80
    assert 0 <= res["valid"]["accuracy"] <= 1
    loss = res["history"]["loss"]
    assert np.isfinite(loss).all()
    digit, p = S.predict_wav(tmp_path / "run", sorted(FSDD.glob("3_theo_*.wav"))[0])
    assert 0 <= digit <= 9 and abs(p.sum() - 1) < 1e-5
