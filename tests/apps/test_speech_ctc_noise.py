"""Noise in the recordings (glassnet.apps.speech_noise, used by speech_ctc): ``add_noise``
(level against 10^(dB/20), spectral slope against a Welch estimate, only inside the clips),
multi-condition training sets (``UtteranceSet(clip_noise=...)``: the same utterances and
labels, noise only in the clips, deterministic from the seed), levels relative to each
utterance's speech level, the recipe keys ``train_noise_db``, ``train_snr_db``,
``train_noise_span_db``, ``train_noise_colour`` and ``valid_noise_db``, ``score_run``
agreeing with the scores a run wrote, and the noise-floor-aware features (``snr_floor_db``:
the floor's power against simulated white noise, the speech level against a hand-made
percentile, the floor following each voice's level, noise floors made alike, and
``snr_floor_span_db``: a floor distance per training utterance, read back from the silent
frames)."""
import json

import numpy as np
import pytest
from scipy.signal import welch

from glassnet.apps import speech as S
from glassnet.apps import speech_ctc as SC
from glassnet.apps import speech_noise as SN
from glassnet.cli import main
from tests.apps.speech_helpers import FSDD, needs_data


def fake_clips(k=10):
    rng = np.random.default_rng(0)
    clips = [(0.5 * np.sin(np.arange(800 + 97 * i) * (0.1 + 0.05 * i))
              + 0.01 * rng.normal(size=800 + 97 * i)).astype(np.float32) for i in range(k)]
    return clips, list(range(k))


@pytest.mark.parametrize("db", [-70.0, -41.0, -20.0])
@pytest.mark.parametrize("colour", [0.0, 1.0, 2.0])
def test_add_noise_level_is_the_rms_in_db(db, colour):
    x = SN.add_noise(np.zeros(16000, np.float32), np.random.default_rng(1), db, colour=colour)
    assert x.dtype == np.float32 and x.shape == (16000,)
    assert 20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2))) == pytest.approx(db,
                                                                                      abs=0.01)


@pytest.mark.parametrize("colour", [0.0, 1.0, 2.0])
def test_add_noise_colour_is_the_spectral_slope(colour):
    x = SN.add_noise(np.zeros(80000, np.float32), np.random.default_rng(2), -30, colour=colour)
    f, p = welch(x.astype(np.float64), fs=8000, nperseg=1024)
    band = (f >= 100) & (f <= 3000)
    slope = np.polyfit(np.log(f[band]), np.log(p[band]), 1)[0]       # power ~ f^-colour
    assert slope == pytest.approx(-colour, abs=0.15)


def test_add_noise_is_deterministic_and_stays_in_the_pieces():
    signal = np.random.default_rng(3).normal(0, 0.1, 4000).astype(np.float32)
    pieces = [(0, 500, 1500), (4, 2000, 3200)]
    a = SN.add_noise(signal, np.random.default_rng(7), -40, colour=1.0, pieces=pieces)
    b = SN.add_noise(signal, np.random.default_rng(7), -40, colour=1.0, pieces=pieces)
    c = SN.add_noise(signal, np.random.default_rng(8), -40, colour=1.0, pieces=pieces)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    inside = np.zeros(4000, bool)
    inside[500:1500] = inside[2000:3200] = True
    assert np.array_equal(a[~inside], signal[~inside])               # silences untouched
    assert np.all(a[inside] != signal[inside])
    with pytest.raises(ValueError, match="level_db"):
        SN.add_noise(signal, np.random.default_rng(0), 3.0)
    with pytest.raises(ValueError, match="1-D"):
        SN.add_noise(signal.reshape(2, -1), np.random.default_rng(0), -40)


def clip_stretches(clips, digits, size, seed, epoch=0):
    """The clip stretches of UtteranceSet's utterances, rebuilt with build_utterance."""
    rng = np.random.default_rng([seed, epoch])
    out = []
    for _ in range(size):
        _, _, pieces = SC.build_utterance(clips, digits, rng)
        out.append(pieces)
    return out


def test_clip_noise_keeps_utterances_and_labels_and_noises_only_the_clips():
    clips, digits = fake_clips()
    clean = SC.UtteranceSet(clips, digits, 12, 4, seed=5)
    noisy = SC.UtteranceSet(clips, digits, 12, 4, seed=5, clip_noise=(-50.0, -30.0, 0.0))
    (cs, cl, _), (ns, nl, _) = clean.draw(0), noisy.draw(0)
    assert nl == cl                                                  # labels unchanged
    levels = []
    for c, n, pieces in zip(cs, ns, clip_stretches(clips, digits, 12, 5)):
        assert len(c) == len(n)
        inside = np.zeros(len(c), bool)
        for _, a, b in pieces:
            inside[a:b] = True
        assert np.array_equal(n[~inside], c[~inside])
        d = (n[inside] - c[inside]).astype(np.float64)
        levels.append(20 * np.log10(np.sqrt(np.mean(d ** 2))))
    assert min(levels) > -51 and max(levels) < -29                   # within [-50, -30] dB
    assert np.std(levels) > 2                                        # a level per utterance
    again = SC.UtteranceSet(clips, digits, 12, 4, seed=5, clip_noise=(-50.0, -30.0, 0.0))
    for (x1, y1), (x2, y2) in zip(noisy, again):
        assert np.array_equal(x1, x2) and np.array_equal(y1, y2)     # deterministic


def test_relative_clip_noise_sits_below_each_utterance_speech_level():
    clips, digits = fake_clips()
    clips = [c * g for c, g in zip(clips, np.geomspace(0.02, 1.0, 10))]   # 34 dB of loudness
    clean = SC.UtteranceSet(clips, digits, 12, 4, seed=6)
    noisy = SC.UtteranceSet(clips, digits, 12, 4, seed=6, clip_noise=(-30.0, -30.0, 0.0, True))
    (cs, cl, _), (ns, nl, _) = clean.draw(0), noisy.draw(0)
    assert nl == cl
    for c, n, pieces in zip(cs, ns, clip_stretches(clips, digits, 12, 6)):
        inside = np.zeros(len(c), bool)
        for _, a, b in pieces:
            inside[a:b] = True
        d = (n - c).astype(np.float64)
        assert not d[~inside].any()
        noise_db = 10 * np.log10(np.mean(d[inside] ** 2))
        assert noise_db == pytest.approx(SN.speech_level_db([c]) - 30, abs=0.5)


def test_fresh_training_set_with_clip_noise_draws_new_noise_each_epoch():
    clips, digits = fake_clips()
    kw = {"fresh": True, "augment": {}, "clip_noise": (-45.0, -35.0, 2.0)}
    data = SC.UtteranceSet(clips, digits, 6, 6, seed=1, **kw)
    (s0, l0, _), (s1, l1, _) = data.draw(0), data.draw(1)
    plain = SC.UtteranceSet(clips, digits, 6, 6, seed=1, fresh=True, augment={})
    assert l0 == plain.draw(0)[1] and l1 == plain.draw(1)[1]
    assert not any(np.array_equal(a, b) for a, b in zip(s0, plain.draw(0)[0]))
    assert not any(np.array_equal(a, b) for a, b in zip(s1, plain.draw(1)[0]))


@pytest.mark.parametrize("bad", [(-30.0, -50.0, 0.0), (-30.0, 5.0, 0.0), (-40.0, -30.0, -1.0),
                                 (-40.0, -30.0)])
def test_clip_noise_is_validated(bad):
    clips, digits = fake_clips()
    with pytest.raises(ValueError, match="clip_noise"):
        SC.UtteranceSet(clips, digits, 4, 4, seed=0, clip_noise=bad)


def test_recipe_noise_keys():
    assert SC.SpeechCTCRecipe().clip_noise() is None
    r = SC.SpeechCTCRecipe(train_noise_db=-35.0)
    assert r.clip_noise() == (-70.0, -35.0, SN.NOISE_COLOUR_MAX)
    r = SC.SpeechCTCRecipe(train_noise_db=-40.0, train_noise_span_db=0.0)
    assert r.clip_noise() == (-40.0, -40.0, SN.NOISE_COLOUR_MAX)
    r = SC.SpeechCTCRecipe(train_snr_db=20.0, train_noise_colour=0.0)
    assert r.clip_noise() == (-55.0, -20.0, 0.0, True)


@pytest.mark.parametrize("sets, key", [
    (["train_noise_db=5"], "train_noise_db"),
    (["train_noise_db=-150"], "train_noise_db"),
    (["train_noise_db=-30", "train_noise_span_db=-5"], "train_noise_span_db"),
    (["valid_noise_db=5"], "valid_noise_db"),
    (["train_noise_db=-35", "train_snr_db=20"], "train_snr_db"),
    (["train_noise_colour=4"], "train_noise_colour"),
    (["snr_floor_span_db=-1"], "snr_floor_span_db"),
    (["snr_floor_span_db=10"], "snr_floor_span_db"),                  # no floor to spread
    (["snr_floor_db=25", "snr_floor_span_db=25"], "snr_floor_span_db")])
def test_noise_recipe_keys_are_validated(tmp_path, capsys, sets, key):
    recipe = tmp_path / "r.toml"
    recipe.write_text('task = "speech_ctc"\n')
    args = ["train", str(recipe), "--out", str(tmp_path / "run")]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 2
    assert key in capsys.readouterr().err


@needs_data
def test_noisy_validation_is_scored_and_score_run_agrees(tmp_path, capsys):
    recipe = tmp_path / "speech_ctc.toml"
    recipe.write_text('task = "speech_ctc"\nmax_files = 12\ntrain_utterances = 16\n'
                      'valid_utterances = 6\ntest_utterances = 4\nchannels = 8\nhidden = 8\n'
                      'epochs = 1\nbaseline_epochs = 0\nbeam_width = 2\nfeatures = "speaker"\n'
                      'train_noise_db = -40.0\ntrain_noise_span_db = 20.0\n'
                      'valid_noise_db = -41.0\nsnr_floor_db = 25.0\n'
                      'snr_floor_span_db = 10.0\n')
    out = tmp_path / "run"
    assert main(["train", str(recipe), "--out", str(out)]) == 0
    assert "with -41 dB noise WER " in capsys.readouterr().out.splitlines()[-1]
    res = json.loads((out / "run.json").read_text())
    assert res["valid_noisy"]["beam"]["n"] == res["valid"]["beam"]["n"] == 6
    again = SC.score_run(out, valid_noise_db=-41.0)
    assert again == {k: res[k] for k in ("valid", "valid_noisy")}
    with pytest.raises(ValueError, match="valid_noisy"):
        SC.score_run(out, names=("valid_noisy",))                    # no noise asked for
    wavs = sorted(FSDD.glob("3_theo_*.wav"))[:3]
    assert main(["transcribe", str(out), str(wavs[0]), "--voice", *map(str, wavs[1:])]) == 0
    printed = capsys.readouterr().out.strip()                        # barely trained
    assert printed == "" or printed.isdigit()


# -- noise-floor-aware features (snr_floor_db) ------------------------------------------------
def test_white_floor_is_the_power_white_noise_adds_per_bin():
    x = np.random.default_rng(4).normal(0, 10 ** (-30 / 20), 80000).astype(np.float32)
    measured = S.power_spectrogram(x)[1:-1, 5:-5].mean()             # inner bins and frames
    assert SN.white_floor(-30.0) == pytest.approx(measured, rel=0.03)


def test_speech_level_is_a_percentile_of_10ms_frame_powers():
    loud = np.full(800, 0.1, np.float32)                             # 10 frames at -20 dB
    quiet = np.full(1200, 0.001, np.float32)                         # 15 frames at -60 dB
    assert SN.speech_level_db([loud, quiet]) == pytest.approx(-20.0, abs=1e-4)
    assert SN.speech_level_db([loud, quiet], q=10) == pytest.approx(-60.0, abs=1e-4)
    with pytest.raises(ValueError, match="speech_level_db"):
        SN.speech_level_db([np.zeros(10, np.float32)])


def voice(gain, noise_db, seed):
    """Three tone bursts between silences, scaled by gain, with noise inside the bursts."""
    rng = np.random.default_rng(seed)
    out = []
    for f in (0.2, 0.4, 0.7):
        tone = 0.3 * np.sin(np.arange(2400) * f)
        burst = tone + 10 ** (noise_db / 20) * rng.normal(size=2400)
        out.append((gain * np.concatenate([np.zeros(1600), burst, np.zeros(1600)]))
                   .astype(np.float32))
    return out


def test_floored_log_mel_is_plain_log_mel_when_off_and_follows_the_voice_level():
    sig = voice(1.0, -60, 0)
    plain = SN.floored_log_mel(sig, 40, 0.0)
    assert all(np.array_equal(a, S.log_mel(s)) for a, s in zip(plain, sig))
    floored = SN.floored_log_mel(sig, 40, 25.0)
    louder = SN.floored_log_mel([4 * s for s in sig], 40, 25.0)      # +12 dB: floor follows
    for a, b in zip(floored, louder):
        assert np.allclose(b - a, np.log(16.0), atol=1e-3)
    assert all((f >= p - 1e-6).all() for f, p in zip(floored, plain))   # a floor only adds


def test_snr_floor_makes_noise_floors_alike():
    """Two voices, same speech, noise at -75 vs -45 dB in their bursts: the silences and
    the noise differ by ~30 dB in plain log-mel, by little once floored 25 dB below speech."""
    def gap_to_burst_noise(feats):                                   # band 35 (~3.4 kHz)
        f = feats[0][:, 35]
        return f[23:48].mean() - f[:15].mean()                       # noisy burst vs silence
    clean, noisy = voice(1.0, -75, 1), voice(1.0, -45, 2)
    plain = [gap_to_burst_noise(SN.floored_log_mel(v, 40, 0.0)) for v in (clean, noisy)]
    floor = [gap_to_burst_noise(SN.floored_log_mel(v, 40, 25.0)) for v in (clean, noisy)]
    assert abs(plain[1] - plain[0]) > 3.0                             # nats: ~17 dB apart
    assert abs(plain[1] - plain[0]) > 10 * abs(floor[1] - floor[0])


def test_utterance_set_floors_each_voice_by_its_own_level():
    a, b = voice(1.0, -70, 3), voice(0.05, -70, 4)                   # b is 26 dB quieter
    data = SC.UtteranceSet(a + b, [0] * 6, 6, 6, seed=0, stats="speaker", snr_floor_db=25.0)
    both = data.features(a + b, None, ["a"] * 3 + ["b"] * 3)
    alone = data.features(b, None, ["b"] * 3)
    assert all(np.allclose(x, y, atol=1e-5) for x, y in zip(both[3:], alone))


def test_snr_floor_recipe_key_is_validated(tmp_path, capsys):
    recipe = tmp_path / "r.toml"
    recipe.write_text('task = "speech_ctc"\n')
    assert main(["train", str(recipe), "--out", str(tmp_path / "run"),
                 "--set", "snr_floor_db=-5"]) == 2
    assert "snr_floor_db" in capsys.readouterr().err


# -- floor-level augmentation (snr_floor_span_db) ---------------------------------------------
def test_floored_log_mel_takes_one_distance_per_signal():
    """Silent frames hold only the floor: 5 dB closer to the speech is ln(10^0.5) nats more,
    and the speech level stays that of all the voice's signals."""
    sig = voice(1.0, -70, 5)
    one = SN.floored_log_mel(sig, 40, 25.0)
    each = SN.floored_log_mel(sig, 40, [20.0, 25.0, 30.0])
    silent = slice(0, 10)                                            # the first 0.1 s of 0.2 s
    assert np.allclose(each[0][silent] - one[0][silent], 0.5 * np.log(10), atol=1e-4)
    assert np.array_equal(each[1], one[1])
    assert np.allclose(each[2][silent] - one[2][silent], -0.5 * np.log(10), atol=1e-4)


def implied_distances(x_span, x_base, y):
    """Each utterance's floor distance (dB below speech) read from its features against the
    same utterance floored at 25 dB: the largest change sits on silent frames, where the
    log-mel is ln(floor) + const, so it equals ln(10^((25 - d) / 10))."""
    out = []
    for n in range(len(y)):
        d = (x_span[n, :y[n, 0], :-1] - x_base[n, :y[n, 0], :-1]).astype(np.float64)
        extreme = d.flat[np.argmax(np.abs(d))]
        assert (np.sign(d) * np.sign(extreme) >= 0).all()            # one direction only
        out.append(25.0 - 10 * np.log10(np.exp(extreme)))
    return np.array(out)


def test_floor_span_draws_a_floor_distance_per_training_utterance():
    clips, digits = fake_clips()
    ident = (np.zeros(40, np.float32), np.ones(40, np.float32))      # features as they are
    kw = {"fresh": True, "augment": {}, "stats": ident, "snr_floor_db": 25.0}
    base = SC.UtteranceSet(clips, digits, 40, 40, seed=3, **kw)
    span = SC.UtteranceSet(clips, digits, 40, 40, seed=3, floor_span_db=10.0, **kw)
    dists = []
    for epoch in range(2):
        (xb, yb), = list(base)
        (xs, ys), = list(span)
        assert np.array_equal(yb, ys) and xb.shape == xs.shape       # same utterances
        d = implied_distances(xs, xb, ys)
        assert d.min() > 15 - 1e-3 and d.max() < 35 + 1e-3
        drawn = np.random.default_rng([3, epoch, 3]).uniform(15, 35, 40)   # (seed, epoch, 3)
        assert np.allclose(np.sort(d), np.sort(drawn), atol=1e-3)
        dists.append(d)
    assert np.std(dists[0]) > 3 and not np.allclose(np.sort(dists[0]), np.sort(dists[1]))
    fixed = SC.UtteranceSet(clips, digits, 8, 8, seed=3, stats=ident, snr_floor_db=25.0,
                            floor_span_db=10.0)                      # validation: no spread
    plain = SC.UtteranceSet(clips, digits, 8, 8, seed=3, stats=ident, snr_floor_db=25.0)
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(fixed, plain))


@pytest.mark.parametrize("span, floor", [(-2.0, 25.0), (25.0, 25.0), (5.0, 0.0)])
def test_floor_span_is_validated(span, floor):
    clips, digits = fake_clips()
    with pytest.raises(ValueError, match="floor_span_db"):
        SC.UtteranceSet(clips, digits, 4, 4, seed=0, snr_floor_db=floor, floor_span_db=span)
