"""speech_ctc's ``features = "speaker"``: each utterance standardised by the mean/std over all
frames of all utterances of its speaker (the shared ``apps.speech.speaker_stats``), checked
against a float64 hand computation; statistics really per voice; no label read; one voice
per training utterance; ``transcribe`` with and without more recordings of the voice; and a
tiny ``glassnet train`` run on the real recordings."""
import json

import numpy as np
import pytest

from glassnet.apps import speech as S
from glassnet.apps import speech_ctc as SC
from glassnet.cli import main
from glassnet.io import save_weights
from glassnet.tensor import Tensor, manual_seed, no_grad
from tests.apps.speech_helpers import FSDD, needs_data


def two_voices():
    """Voice "a" says digits 0-4 loudly at low pitches, voice "b" digits 5-9 softly at high
    ones: clips, digits, the speaker of each clip."""
    rng = np.random.default_rng(0)
    clips, digits, voices = [], [], []
    for d in range(10):
        amp, f = (0.5, 0.08 + 0.02 * d) if d < 5 else (0.03, 0.9 + 0.1 * d)
        n = 700 + 60 * d
        clips.append((amp * np.sin(np.arange(n) * f) + 0.002 * rng.normal(size=n))
                     .astype(np.float32))
        digits.append(d)
        voices.append("a" if d < 5 else "b")
    return clips, digits, voices


def by_length(feats):
    """The order UtteranceSet puts utterances in a batch (stable by length)."""
    return np.argsort([len(f) for f in feats], kind="stable")


def hand_normalised(signals, voices):
    """float64: each utterance's log-mel minus its voice's mean over all frames of all its
    utterances, over that std + 1e-5."""
    feats = [S.log_mel(s).astype(np.float64) for s in signals]
    out = [None] * len(feats)
    for v in set(voices):
        idx = [i for i, w in enumerate(voices) if w == v]
        frames = np.concatenate([feats[i] for i in idx])
        mean, std = frames.mean(0), frames.std(0) + 1e-5
        for i in idx:
            out[i] = (feats[i] - mean) / std
    return out


def test_speaker_normalisation_matches_a_float64_hand_computation_per_voice():
    clips, digits, voices = two_voices()
    data = SC.UtteranceSet(clips, digits, 12, 100, seed=1, stats="speaker", speakers=voices,
                           noise=0.001)
    signals, labels, spk = data.draw(0)
    for lab, v in zip(labels, spk):                          # one voice per utterance
        assert all((d < 5) == (v == "a") for d in lab)
    assert set(spk) == {"a", "b"}
    (x, y), = list(data)
    want = hand_normalised(signals, spk)
    order = by_length(want)
    for row, k in enumerate(order):
        assert y[row, 0] == len(want[k])
        np.testing.assert_allclose(x[row, :len(want[k]), :40], want[k], atol=2e-4)
    for v in "ab":                      # each voice zero mean, unit variance over its frames
        z = np.concatenate([x[r, :y[r, 0], :40] for r, k in enumerate(order) if spk[k] == v])
        np.testing.assert_allclose(z.mean(0), 0, atol=1e-4)
        np.testing.assert_allclose(z.std(0), 1, atol=1e-3)
    pooled = hand_normalised(signals, [""] * len(signals))     # one voice: not what it did
    assert max(np.abs(pooled[k] - want[k]).max() for k in range(len(want))) > 1.0
    # no label read: other digit names for the same clips give the same features
    renamed = SC.UtteranceSet(clips, [(d + 3) % 10 for d in digits], 12, 100, seed=1,
                              stats="speaker", speakers=voices, noise=0.001)
    (x2, y2), = list(renamed)
    np.testing.assert_array_equal(x2, x)
    assert not np.array_equal(y2[:, 2:], y[:, 2:])


def test_held_out_speaker_uses_all_its_utterances_not_each_one():
    clips, digits, _ = two_voices()
    data = SC.UtteranceSet(clips[:5], digits[:5], 9, 4, seed=7, stats="speaker")
    same = SC.UtteranceSet(clips[:5], digits[:5], 9, 4, seed=7)    # per utterance
    signals, labels = data.utterances(0)
    assert (signals[0] == same.utterances(0)[0][0]).all()          # the same utterances
    want = hand_normalised(signals, [""] * len(signals))
    order = by_length(want)
    rows = [r for x, y in data for r in zip(x, y)]
    per_utt = [r for x, y in same for r in zip(x, y)]
    for (xr, yr), (xu, _), k in zip(rows, per_utt, order):
        np.testing.assert_allclose(xr[:yr[0], :40], want[k], atol=2e-4)
        assert np.abs(xr[:yr[0], :40] - xu[:yr[0], :40]).max() > 0.05   # not per utterance


def test_training_set_draws_one_voice_per_utterance_and_its_epochs_stats():
    clips, digits, voices = two_voices()
    train = SC.UtteranceSet(clips, digits, 16, 100, seed=2, fresh=True, stats="speaker",
                            speakers=voices, augment={"speed": 0.1, "gain_db": 6})
    for epoch in range(2):
        signals, labels, spk = train.draw(epoch)
        assert set(spk) == {"a", "b"}
        assert all(all((d < 5) == (v == "a") for d in lab) for lab, v in zip(labels, spk))
        (x, y), = list(train)                  # this epoch's batch (no masks: exact)
        want = hand_normalised(signals, spk)
        rows = {tuple(int(d) - 1 for d in yr[2:2 + yr[1]]): xr[:yr[0], :40]
                for xr, yr in zip(x, y)}
        unique = [k for k, lab in enumerate(labels) if labels.count(lab) == 1]
        assert len(unique) >= 10
        for k in unique:                       # a digit string drawn once: its row
            np.testing.assert_allclose(rows[tuple(labels[k])], want[k], atol=2e-4)
    with pytest.raises(ValueError, match="one speaker per clip"):
        SC.UtteranceSet(clips, digits, 4, 4, seed=0, speakers=voices[:3])
    with pytest.raises(ValueError, match="stats='voice'"):
        SC.UtteranceSet(clips, digits, 4, 4, seed=0, stats="voice")


def test_speaker_stats_counts_every_frame_when_asked():
    rng = np.random.default_rng(3)
    feats = [rng.normal(size=(100, 4)) + np.arange(100)[:, None] / 10 for _ in range(3)]
    full = S.speaker_stats(feats, ["v"] * 3, max_frames=None)[0]
    head = S.speaker_stats(feats, ["v"] * 3)[0]                  # first MAX_FRAMES only
    frames = np.concatenate(feats)
    np.testing.assert_allclose(full[0], frames.mean(0), rtol=1e-12)
    np.testing.assert_allclose(full[1], frames.std(0) + 1e-5, rtol=1e-12)
    np.testing.assert_allclose(head[0], np.concatenate([f[:S.MAX_FRAMES] for f in feats])
                               .mean(0), rtol=1e-12)
    with pytest.raises(ValueError, match="one speaker per recording"):
        S.speaker_stats(feats, ["v", "w"])


def test_recipe_accepts_speaker_features_and_names_a_bad_choice():
    assert SC.SpeechCTCRecipe(features="speaker").features == "speaker"
    with pytest.raises(ValueError, match="features"):
        SC.SpeechCTCRecipe(features="voice")


def speaker_run(tmp_path, features="speaker"):
    """A run folder with random (scaled-up, so that decodings vary) weights."""
    from glassnet.runs import prepare_run_dir
    recipe = SC.SpeechCTCRecipe(channels=8, hidden=8, beam_width=1, features=features)
    run = prepare_run_dir(tmp_path / features, recipe)
    manual_seed(4)
    model = SC.SpeechCTCNet(40, channels=8, hidden=8)
    for p in model.fc.parameters():
        p.array *= 8
    save_weights(model, run / "weights.safetensors")
    (run / "run.json").write_text(json.dumps({"feature_mean": None, "feature_std": None}))
    return run, model


def test_transcribe_normalises_by_the_voice_given_or_by_the_file_itself(tmp_path, capsys):
    from scipy.io import wavfile
    from glassnet.apps.ctc_decode import greedy_decode
    run, model = speaker_run(tmp_path)
    clips, digits, _ = two_voices()
    paths, signals = [], []
    for i in range(3):
        sig, _, _ = SC.build_utterance(clips[:5], digits[:5], np.random.default_rng(i),
                                       noise=0.001)
        sig = sig * (1 + i)                                       # louder each time
        paths.append(tmp_path / f"u{i}.wav")
        wavfile.write(paths[-1], 8000, (sig * 32767).astype(np.int16))
        signals.append(S.read_wav(paths[-1]))

    def decode(f):
        model.eval()
        with no_grad():
            return [k - 1 for k in greedy_decode(model(Tensor(SC._batch([f]))).array[:, 0])]

    alone = hand_normalised(signals[:1], [""])[0]
    voice = hand_normalised(signals, [""] * 3)[0]
    assert decode(alone.astype(np.float32)) != decode(voice.astype(np.float32))  # it matters
    assert SC.transcribe(run, paths[0]) == decode(alone.astype(np.float32))
    assert (SC.transcribe(run, paths[0], speaker_files=paths[1:])
            == decode(voice.astype(np.float32)))
    assert main(["transcribe", str(run), str(paths[0]), "--voice", *map(str, paths[1:])]) == 0
    assert capsys.readouterr().out.strip() == "".join(map(str, decode(voice.astype(np.float32))))
    # a glob that names the file itself, and a repeat, count each recording once
    again = [str(paths[0]), *map(str, paths[1:]), str(tmp_path / "." / paths[1].name)]
    assert main(["transcribe", str(run), str(paths[0]), "--voice", *again]) == 0
    assert capsys.readouterr().out.strip() == "".join(map(str, decode(voice.astype(np.float32))))
    utt_run, _ = speaker_run(tmp_path, "utterance")
    with pytest.raises(ValueError, match='features = "utterance", expected "speaker"'):
        SC.transcribe(utt_run, paths[0], speaker_files=paths[1:])


@needs_data
def test_glassnet_train_speech_ctc_with_speaker_features(tmp_path, capsys):
    recipe = tmp_path / "speech_ctc.toml"
    recipe.write_text('task = "speech_ctc"\nfeatures = "speaker"\nmax_files = 12\n'
                      'train_utterances = 32\nvalid_utterances = 6\ntest_utterances = 6\n'
                      'channels = 8\nhidden = 8\nepochs = 1\nbaseline_epochs = 0\n'
                      'beam_width = 2\n')
    out = tmp_path / "run"
    assert main(["train", str(recipe), "--out", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("speech_ctc: test wer ")
    res = json.loads((out / "run.json").read_text())
    assert res["feature_mean"] is None and res["valid"]["beam"]["n"] == 6
    wav = sorted(FSDD.glob("7_theo_*.wav"))[0]
    assert main(["transcribe", str(out), str(wav)]) == 0
    printed = capsys.readouterr().out.strip()      # barely trained: any digit string
    assert printed == "" or printed.isdigit()


def test_other_recordings_drop_the_file_itself_and_repeats(tmp_path, monkeypatch):
    from glassnet.apps.speech_ctc_transcribe import other_recordings
    monkeypatch.chdir(tmp_path)
    a, b, c = (tmp_path / f"{n}.wav" for n in "abc")
    got = other_recordings("a.wav", [str(a), "b.wav", str(c), str(tmp_path / "." / "b.wav"),
                                     "./a.wav"])
    assert got == ["b.wav", str(c)]
    assert other_recordings(a, None) == [] and other_recordings(a, [b]) == [b]


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "8"])
def test_every_transcribe_refuses_a_bad_beam_width_before_reading_the_run(bad, tmp_path):
    from glassnet.apps import speech_ctc_transcribe as T
    wav, missing = tmp_path / "u.wav", tmp_path / "no_run"
    calls = [lambda: SC.transcribe(missing, wav, bad),
             lambda: T.transcribe_ensemble(missing, wav, bad),
             lambda: T.transcribe_self_trained(missing, wav, [wav], bad)]
    for call in calls:
        with pytest.raises(ValueError, match=r"transcribe\(beam_width=.*\): expected an int "
                                             r">= 1 \(1: greedy\)"):
            call()
