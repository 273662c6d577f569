"""glassnet.apps.speech_ctc: the utterance builder, silence splitting, the CTC acoustic
model's shapes, a small CTC model learning a synthetic two-symbol task to zero errors,
``glassnet transcribe`` refusing bad files, and ``glassnet train recipes/speech_ctc.toml``
on a slice of the real recordings."""
import json

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn, optim
from glassnet.apps import speech_ctc as SC
from glassnet.apps.ctc_decode import greedy_decode
from glassnet.cli import main
from glassnet.io import save_weights
from tests.apps.speech_helpers import FSDD, needs_data


def fake_clips(k=10):
    """k distinct clips (a sine of its own frequency and length), digit = index."""
    rng = np.random.default_rng(0)
    clips = [(0.5 * np.sin(np.arange(800 + 97 * i) * (0.1 + 0.05 * i))
              + 0.01 * rng.normal(size=800 + 97 * i)).astype(np.float32) for i in range(k)]
    return clips, list(range(k))


def test_utterance_builder_is_deterministic_and_labels_match_clips():
    clips, digits = fake_clips()
    a = SC.build_utterance(clips, digits, np.random.default_rng(5))
    b = SC.build_utterance(clips, digits, np.random.default_rng(5))
    assert np.array_equal(a[0], b[0]) and a[1] == b[1] and a[2] == b[2]
    counts = set()
    for seed in range(40):
        signal, labels, pieces = SC.build_utterance(clips, digits, np.random.default_rng(seed),
                                                    gap=(0.05, 0.2))
        counts.add(len(labels))
        assert signal.dtype == np.float32 and len(labels) == len(pieces)
        silent = np.ones(len(signal), bool)
        prev_end = 0
        for label, (i, start, end) in zip(labels, pieces):
            assert label == digits[i]
            assert np.array_equal(signal[start:end], clips[i])      # the clip, unchanged
            assert 0.05 * 8000 - 1 <= start - prev_end <= 0.2 * 8000  # a silence before it
            silent[start:end] = False
            prev_end = end
        assert not signal[silent].any()                              # gaps are pure silence
    assert counts == set(range(1, 8))
    noisy = SC.build_utterance(clips, digits, np.random.default_rng(5), noise=0.01)
    assert noisy[1] == a[1] and 0.005 < np.std(noisy[0] - a[0]) < 0.02


def test_utterance_set_batches_carry_frames_and_labels():
    clips, digits = fake_clips()
    data = SC.UtteranceSet(clips, digits, 10, 4, seed=3)
    batches = list(data)
    assert len(batches) == len(data) == 3
    assert [b[0].shape[0] for b in batches] == [4, 4, 2]
    signals, labels = data.utterances(0)
    got = sorted(tuple(y[2:2 + y[1]] - 1) for _, ys in batches for y in ys)
    assert got == sorted(tuple(s) for s in labels)
    for x, y in batches:
        assert np.array_equal(x[:, :, -1].sum(1), y[:, 0])           # frame counts
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(batches, list(data)))   # fixed set
    train = SC.UtteranceSet(clips, digits, 8, 4, seed=3, fresh=True,
                            augment={"speed": 0.1, "gain_db": 6, "spec_augment": True})
    first, second = list(train), list(train)
    assert not np.array_equal(first[0][0], second[0][0])            # new utterances per epoch


def test_split_on_silence_finds_the_bursts():
    rng = np.random.default_rng(1)
    signal = np.zeros(8000, np.float32) + rng.normal(0, 1e-4, 8000).astype(np.float32)
    bursts = [(800, 2400), (3200, 4000), (5600, 7200)]
    for a, b in bursts:
        signal[a:b] += 0.3 * np.sin(np.arange(b - a) * 0.3)
    assert SC.split_on_silence(signal) == bursts


def test_model_output_shape_and_lengths():
    model = SC.SpeechCTCNet(8, channels=4, hidden=5)
    x = np.zeros((3, 21, 9), np.float32)
    for n, T in enumerate([21, 13, 4]):
        x[n, :T, :8] = np.random.default_rng(n).normal(size=(T, 8))
        x[n, :T, 8] = 1
    out = model(x)
    assert out.shape == (6, 3, 11)                                    # ceil(21 / 4) = 6
    np.testing.assert_allclose(np.exp(out.array).sum(2), 1, rtol=1e-5)
    assert SC.SpeechCTCNet.output_lengths([21, 13, 4]).tolist() == [6, 4, 1]
    y = np.array([[21, 2, 3, 4], [13, 1, 2, 0], [4, 0, 0, 0]])
    loss = SC.CTCTargetLoss()(out, gn.tensor(y))
    loss.backward()
    assert np.isfinite(loss.array) and model.fc.weight.grad is not None
    with pytest.raises(ValueError, match="SpeechCTCNet"):
        model(np.zeros((1, 5, 4), np.float32))


def test_small_ctc_model_learns_two_symbols_to_zero_errors():
    """Symbols A, B (labels 1, 2) drawn as 2-4 noisy frames of their own pattern, with
    random silences between; a small BiGRU trained with CTC must transcribe held-out
    sequences (repeats included) without a single error."""
    rng = np.random.default_rng(0)
    pattern = {0: [0, 0, 1.0], 1: [1.0, 0, 0], 2: [0, 1.0, 0]}

    def sample(n=16, T=40):
        x = np.zeros((T, n, 3), np.float32)
        labels, lens = [], []
        for i in range(n):
            seq = rng.integers(1, 3, size=int(rng.integers(1, 5))).tolist()
            frames = []
            for k in seq:
                frames += [pattern[0]] * int(rng.integers(1, 3))
                frames += [pattern[k]] * int(rng.integers(2, 5))
            frames += [pattern[0]] * int(rng.integers(1, 3))
            x[:len(frames), i] = np.asarray(frames) + rng.normal(0, 0.2, (len(frames), 3))
            labels.append(seq)
            lens.append(len(frames))
        padded = np.zeros((n, 4), np.int64)
        for i, s in enumerate(labels):
            padded[i, :len(s)] = s
        return x, padded, np.array(lens), np.array([len(s) for s in labels]), labels

    gn.manual_seed(0)
    gru, fc = nn.GRU(3, 12, bidirectional=True), nn.Linear(24, 3)
    opt = optim.Adam(list(gru.parameters()) + list(fc.parameters()), lr=0.02)
    ctc = nn.CTCLoss()
    for _ in range(150):
        x, targets, il, tl, _ = sample()
        out, _ = gru(gn.tensor(x), lengths=il)
        loss = ctc(fc(out).log_softmax(2), targets, il, tl)
        opt.zero_grad()
        loss.backward()
        opt.step()
    x, targets, il, tl, labels = sample(n=64)
    with gn.no_grad():
        out, _ = gru(gn.tensor(x), lengths=il)
        decoded = greedy_decode(fc(out).log_softmax(2), lengths=il)
    assert decoded == labels


# -- runs and the command line -----------------------------------------------------------------
def fresh_run(tmp_path):
    """A run folder with untrained weights (no data needed)."""
    from glassnet.runs import prepare_run_dir
    recipe = SC.SpeechCTCRecipe(channels=8, hidden=8, beam_width=2)
    run = prepare_run_dir(tmp_path / "run", recipe)
    save_weights(SC.SpeechCTCNet(40, channels=8, hidden=8), run / "weights.safetensors")
    (run / "run.json").write_text(json.dumps({"feature_mean": [-10.0] * 40,
                                              "feature_std": [3.0] * 40}))
    return run


@pytest.mark.parametrize("content,match", [(b"", "empty file"),
                                           (b"hello, this is not audio", "not a WAV file"),
                                           (None, "no such file")])
def test_transcribe_refuses_bad_files_with_one_line(tmp_path, capsys, content, match):
    run = fresh_run(tmp_path)
    bad = tmp_path / "bad.wav"
    if content is not None:
        bad.write_bytes(content)
    assert main(["transcribe", str(run), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("glassnet: error:") and match in err and err.count("\n") == 1


def test_transcribe_prints_a_digit_string(tmp_path, capsys):
    from scipy.io import wavfile
    run = fresh_run(tmp_path)
    wav = tmp_path / "tone.wav"
    wavfile.write(wav, 8000, (8000 * np.sin(np.arange(6000) * 0.2)).astype(np.int16))
    assert main(["transcribe", str(run), str(wav), "--beam", "1"]) == 0
    out = capsys.readouterr().out.strip()
    assert out.isdigit() or out == ""
    assert main(["transcribe", str(run), str(wav), "--beam", "0"]) == 2


@needs_data
def test_glassnet_train_speech_ctc_recipe(tmp_path, capsys):
    recipe = tmp_path / "speech_ctc.toml"
    recipe.write_text('task = "speech_ctc"\nmax_files = 12\ntrain_utterances = 32\n'
                      'valid_utterances = 6\ntest_utterances = 6\nchannels = 8\nhidden = 8\n'
                      'epochs = 1\nbaseline_epochs = 1\nbeam_width = 2\n')
    out = tmp_path / "run"
    assert main(["train", str(recipe), "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("speech_ctc: FSDD ") and "Total params: " in "\n".join(printed)
    assert printed[-1].startswith("speech_ctc: test wer ")
    assert "| baselines: split_on_silence wer " in printed[-1] and "theo (unseen)" in printed[-1]
    res = json.loads((out / "run.json").read_text())
    assert set(res["train_speakers"]).isdisjoint({"theo", "jackson"})
    assert len(res["train_speakers"]) == 4
    assert res["task"] == "speech_ctc" and res["decoding"] == "beam"
    assert res["test"]["wer"] == res["test_decodings"]["beam"]["wer"]
    assert res["test_decodings"]["beam"]["n"] == 6 and 0 <= res["baseline"]["test"]["wer"]
    assert res["baselines"]["split_on_silence"]["wer"] == res["baseline"]["test"]["wer"]
    wav = sorted(FSDD.glob("7_theo_*.wav"))[0]
    assert main(["transcribe", str(out), str(wav)]) == 0
    printed = capsys.readouterr().out.strip()      # barely trained: any digit string
    assert printed == "" or printed.isdigit()
