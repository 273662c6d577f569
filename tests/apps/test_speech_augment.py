"""glassnet.apps.speech_augment (speed/gain perturbation, SpecAugment masks, normalisation,
VTLP, MFCC and deltas) and the isolated-digit recipe's new-speaker options (valid_speaker,
features, augmentation, front end)."""

import numpy as np
import pytest

from glassnet.apps import speech as S
from glassnet.apps.speech_augment import (deltas, mfcc, normalise, perturb, spec_augment,
                                          trim_silence, vtlp_warp)
from tests.apps.speech_helpers import FSDD, needs_data


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
def test_augmented_training_reports_the_validation_speaker(tmp_path, capsys):
    recipe = S.SpeechRecipe(split="speaker", test_speaker="theo", valid_speaker="jackson",
                            features="speaker", speed=0.1, gain_db=6, spec_augment=True,
                            vtlp=0.1, n_mfcc=13, deltas=True, trim_db=30,
                            epochs=2, max_files=120, channels=8, hidden=8, batch_size=16)
    res = S.train_speech(recipe, tmp_path / "run", verbose=True)
    assert "speech" in capsys.readouterr().out                # the header (glassnet train)
    assert res["n_valid"] == 20 and res["n_test"] == 20 and res["n_train"] == 80
    assert 0 <= res["valid"]["accuracy"] <= 1
    loss = res["history"]["loss"]
    assert np.isfinite(loss).all()
    pred = np.load(tmp_path / "run" / "predictions.npz")            # for seed ensembles
    for part in ("test", "valid"):
        probs, labels = pred[f"{part}_probs"], pred[f"{part}_labels"]
        assert probs.shape == (20, 10) and np.allclose(probs.sum(1), 1, atol=1e-5)
        assert abs((probs.argmax(1) == labels).mean() - res[part]["accuracy"]) < 1e-9
    digit, p = S.predict_wav(tmp_path / "run", sorted(FSDD.glob("3_theo_*.wav"))[0])
    assert 0 <= digit <= 9 and abs(p.sum() - 1) < 1e-5


def tone(hz, seconds=0.5, rate=8000):
    return np.sin(2 * np.pi * hz * np.arange(int(rate * seconds)) / rate).astype(np.float32)


def test_vtlp_warp_is_a_continuous_increasing_map_of_the_band_onto_itself():
    f = np.linspace(0, 4000, 2001)
    np.testing.assert_array_equal(vtlp_warp(f, 1.0), f)
    for alpha in (0.85, 0.9, 1.1, 1.15):
        w = vtlp_warp(f, alpha)
        assert w[0] == 0 and abs(w[-1] - 4000) < 1e-9
        assert (np.diff(w) > 0).all() and np.abs(np.diff(w)).max() < 3 * 2 * alpha   # no jump
        knee = 3200 * min(alpha, 1) / alpha
        np.testing.assert_allclose(w[f <= knee], alpha * f[f <= knee])
    with pytest.raises(ValueError, match="alpha"):
        vtlp_warp(f, 0.0)
    with pytest.raises(ValueError, match="f_hi"):
        vtlp_warp(f, 1.1, f_hi=4000)


def test_vtlp_factor_one_is_the_plain_filterbank_and_log_mel():
    np.testing.assert_array_equal(S.mel_filterbank(8000, 256, 40, warp=1.0),
                                  S.mel_filterbank(8000, 256, 40))
    x = np.random.default_rng(0).normal(size=4000).astype(np.float32)
    np.testing.assert_array_equal(S.log_mel(x, 40, warp=1.0), S.log_mel(x, 40))
    assert not np.allclose(S.log_mel(x, 40, warp=1.1), S.log_mel(x, 40))


@pytest.mark.parametrize("hz", [500.0, 1000.0, 2000.0])
def test_vtlp_moves_a_pure_tone_to_the_band_of_the_scaled_tone(hz):
    plain = S.log_mel(tone(hz)).mean(0).argmax()
    for alpha in (0.9, 1.1):
        warped = S.log_mel(tone(hz), warp=alpha).mean(0).argmax()
        assert warped == S.log_mel(tone(alpha * hz)).mean(0).argmax()     # read as alpha*hz
        assert (warped - plain) * (alpha - 1) > 0                         # up for alpha > 1


def test_mfcc_is_the_orthonormal_dct_of_the_log_mel_bands():
    lm = np.random.default_rng(0).normal(size=(7, 40)).astype(np.float32)
    B, k = 40, np.arange(14)[:, None]
    basis = np.cos(np.pi * k * (2 * np.arange(B)[None, :] + 1) / (2 * B)) * np.sqrt(2 / B)
    basis[0] /= np.sqrt(2)                                                # float64 definition
    ref = lm.astype(np.float64) @ basis.T
    np.testing.assert_allclose(mfcc(lm, 13), ref[:, 1:], atol=1e-5)
    np.testing.assert_allclose(mfcc(lm, 13, drop_c0=False), ref[:, :13], atol=1e-5)
    assert mfcc(lm, 13).dtype == np.float32
    with pytest.raises(ValueError, match="n_mfcc"):
        mfcc(lm, 40)


def test_mfcc_and_deltas_match_librosa():
    librosa = pytest.importorskip("librosa")
    lm = S.log_mel(np.random.default_rng(0).normal(size=4000).astype(np.float32))
    ref = librosa.feature.mfcc(S=lm.T.astype(np.float64), n_mfcc=14).T
    np.testing.assert_allclose(mfcc(lm, 13), ref[:, 1:], rtol=1e-5, atol=1e-4)
    c = np.random.default_rng(1).normal(size=(30, 13))
    for width in (1, 2, 3):
        np.testing.assert_allclose(deltas(c, width), librosa.feature.delta(
            c.T, width=2 * width + 1, mode="nearest").T, atol=1e-6)


def test_deltas_of_a_ramp_are_its_slope_inside():
    ramp = np.outer(np.arange(20.0), [1.0, -3.0])
    np.testing.assert_allclose(deltas(ramp, 2)[2:-2], np.tile([1.0, -3.0], (16, 1)))
    with pytest.raises(ValueError, match="width"):
        deltas(ramp, 0)


def test_front_end_options_shapes_and_checks():
    x = np.random.default_rng(0).normal(size=4000).astype(np.float32)
    for kw, dim in (({}, 40), ({"deltas": True}, 80), ({"n_mfcc": 13}, 13),
                    ({"n_mfcc": 13, "deltas": True}, 26)):
        recipe = S.SpeechRecipe(**kw)
        f = S.frame_features(x, recipe)
        assert f.shape == (len(S.log_mel(x)), dim) == (f.shape[0], S.feature_dim(recipe))
    np.testing.assert_allclose(S.frame_features(x, S.SpeechRecipe(n_mfcc=13)),
                               mfcc(S.log_mel(x), 13))
    with pytest.raises(ValueError, match="n_mfcc"):
        S.SpeechRecipe(n_mfcc=40)
    with pytest.raises(ValueError, match="vtlp"):
        S.SpeechRecipe(vtlp=0.6)


def test_vtlp_augmented_batches_are_seeded():
    rng = np.random.default_rng(0)
    clips = [rng.normal(size=int(n)).astype(np.float32) for n in rng.integers(3000, 6000, 6)]
    labels = np.arange(6)

    def first_batch(**kw):
        recipe = S.SpeechRecipe(features="utterance", batch_size=6, **kw)
        return next(iter(S.AugmentedClips(clips, labels, recipe, None)))

    a, b = first_batch(vtlp=0.1, seed=3), first_batch(vtlp=0.1, seed=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], first_batch(vtlp=0.1, seed=4)[0])
    plain = first_batch(seed=3)                       # same order, unwarped filterbank
    np.testing.assert_array_equal(plain[1], a[1])
    np.testing.assert_array_equal(plain[0][..., -1], a[0][..., -1])
    assert not np.allclose(plain[0], a[0])


def test_trim_silence_cuts_the_quiet_frames_around_the_speech():
    rng = np.random.default_rng(0)
    quiet = lambda n: 1e-4 * rng.normal(size=n).astype(np.float32)          # noqa: E731
    word = tone(700, 0.3) * np.hanning(2400).astype(np.float32)
    x = np.concatenate([quiet(1600), word, quiet(2400)])       # 200 ms before, 300 ms after
    power = S.power_spectrogram(x)
    kept = trim_silence(power, 40)
    assert abs(kept.shape[1] - 30) <= 4                        # ~300 ms of 10 ms frames
    start = int(np.flatnonzero((power == kept[:, :1]).all(0))[0])
    assert abs(start - 20) <= 3 and np.array_equal(power[:, start:start + kept.shape[1]], kept)
    assert trim_silence(S.power_spectrogram(word), 40).shape[1] >= 28     # nothing to cut
    np.testing.assert_array_equal(trim_silence(np.zeros((3, 5)), 40), np.zeros((3, 5)))
    with pytest.raises(ValueError, match="top_db"):
        trim_silence(power, 0)
    f = S.frame_features(x, S.SpeechRecipe(trim_db=40))
    np.testing.assert_allclose(f, S.log_mel_of_power(kept), rtol=1e-6)


def test_speaker_stats_standardise_each_speakers_frames_together():
    rng = np.random.default_rng(0)
    speakers = ["a", "b", "a", "c", "b", "a"]
    feats = [rng.normal(loc=3 * "abc".index(sp), scale=1 + "abc".index(sp),
                        size=(int(rng.integers(10, 90)), 5)) for sp in speakers]
    stats = S.speaker_stats(feats, speakers)
    for sp in "abc":
        idx = [i for i, x in enumerate(speakers) if x == sp]
        frames = np.concatenate([feats[i][:S.MAX_FRAMES] for i in idx])   # what the model sees
        assert all(stats[i] is stats[idx[0]] for i in idx)
        z = np.concatenate([normalise(feats[i], stats[i])[:S.MAX_FRAMES] for i in idx])
        np.testing.assert_allclose(z.mean(0), 0, atol=1e-5)
        np.testing.assert_allclose(z.std(0), 1, atol=1e-4)
        np.testing.assert_allclose(stats[idx[0]][0], frames.mean(0), rtol=1e-6)
    with pytest.raises(ValueError, match="features"):
        S.SpeechRecipe(data="my_wavs", features="speaker")
