"""Self-training a finished CTC run on a new voice (glassnet.apps.speech_ctc_adapt): the
confidence rule against a brute-force sum over every CTC path, the adaptation blind to the
voice's labels (scrambled labels give the same adapted model), determinism, the training
stream continuing after the run's epochs, and ``adapt_run`` on a tiny real run (its "before"
agreeing with ``score_run``), with its errors."""
import itertools
import json

import numpy as np
import pytest

from glassnet.apps import speech_ctc as SC
from glassnet.apps import speech_ctc_adapt as A
from glassnet.cli import main
from glassnet.io import load_weights
from glassnet.tensor import manual_seed
from tests.apps.speech_helpers import needs_data, scramble_held_out_labels


def brute_force(log_probs):
    """{digit string: p(string | x)} summed over all C^T paths (collapse repeats, drop
    blanks), in float64."""
    lp = np.asarray(log_probs, np.float64)
    out = {}
    for path in itertools.product(range(lp.shape[1]), repeat=lp.shape[0]):
        s = tuple(k - 1 for i, k in enumerate(path) if k and (i == 0 or path[i - 1] != k))
        out[s] = out.get(s, 0.0) + float(np.exp(sum(lp[t, k] for t, k in enumerate(path))))
    return out


@pytest.mark.parametrize("seed", range(4))
def test_confidence_is_the_probability_of_the_best_string(seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, (5, 4))
    lp = logits - np.log(np.exp(logits).sum(1, keepdims=True))
    oracle = brute_force(lp)
    digits, p = A.decode_with_confidence(lp, beam_width=64)
    best = max(oracle, key=oracle.get)
    assert digits == list(best)
    assert p == pytest.approx(oracle[best], rel=1e-9)
    assert sum(oracle.values()) == pytest.approx(1.0)


def test_confidence_by_hand_and_the_threshold():
    # frames (blank, digit 0): p("") = .4·.6, p("0") = .6·.4 + .6·.6 + .4·.4 = .76
    digits, p = A.decode_with_confidence(np.log([[.4, .6], [.6, .4]]), 4)
    assert digits == [0] and p == pytest.approx(0.76)
    # "3 _ 5" said clearly (0.99 per frame, 0.001 for every other class): p("3 5") sums
    # the paths 3 _ 5, 3 3 5, 3 5 5 (one 0.001 frame) and _ 3 5, 3 5 _ (two)
    lp = np.full((3, 11), np.log(0.001))
    lp[0, 4], lp[1, 0], lp[2, 6] = np.log(0.99), np.log(0.99), np.log(0.99)
    digits, p = A.decode_with_confidence(lp, 64)
    assert digits == [3, 5]
    assert p == pytest.approx(0.99 ** 3 + 2 * 0.99 ** 2 * 1e-3 + 2 * 0.99 * 1e-6)
    probs = [0.76, p, 0.9, 0.899]
    assert A.confident(probs, 0.9).tolist() == [1, 2]
    assert A.confident(probs, 0.0).tolist() == [0, 1, 2, 3]
    assert A.confident(probs, 1.0).tolist() == []


def test_top_share_keeps_the_most_confident_whatever_their_probability():
    """Curriculum: the ⌈top·N⌉ most probable utterances join those above the threshold;
    equal probabilities are taken in utterance order; the result is ascending."""
    rng = np.random.default_rng(0)
    probs = rng.random(37)
    for top in (0.0, 0.1, 0.2, 0.5, 1.0):
        got = A.confident(probs, 0.95, top)
        k = int(np.ceil(top * 37 - 1e-9))
        want = set(np.flatnonzero(probs >= 0.95)) | set(sorted(range(37),
                                                             key=lambda i: -probs[i])[:k])
        assert got.tolist() == sorted(want)
    assert A.confident([0.2, 0.5, 0.2, 0.2], 0.9, top=0.5).tolist() == [0, 1]   # tie: first
    assert A.confident([0.95, 0.1, 0.3], 0.9, top=0.2).tolist() == [0]   # ⌈0.6⌉ = 1: top one
    with pytest.raises(ValueError, match=r"confident\(top=1.5\): expected a share"):
        A.confident([0.5], 0.9, top=1.5)


def test_rounds_grow_the_top_share():
    """``self_train_rounds(top=t)``: round r keeps at least ⌈min(1, r·t)·N⌉ utterances."""
    model, train, voice = small_setup()
    feats = A.voice_features(voice)
    recs = A.self_train_rounds(model, feats, train, rounds=3, threshold=1.0, epochs=0,
                               lr=1e-3, beam_width=2, seed=5, top=0.4)
    n = len(feats)
    assert [r["kept"] for r in recs] == [int(np.ceil(min(1.0, 0.4 * r) * n - 1e-9))
                                         for r in (1, 2, 3)]
    for r in recs:                                 # the most confident ones, by probability
        p = r["confidence"]
        assert p[r["kept_index"]].min() >= np.delete(p, r["kept_index"]).max(initial=0)


@pytest.mark.parametrize("bad", [-0.1, 1.5, True, "0.9"])
def test_threshold_is_validated(bad):
    with pytest.raises(ValueError, match=r"confident\(threshold=.*expected a probability"):
        A.confident([0.5], bad)


def fake_voice(k=10, seed=0):
    rng = np.random.default_rng(seed)
    clips = [(0.5 * np.sin(np.arange(800 + 97 * i) * (0.1 + 0.05 * i))
              + 0.01 * rng.normal(size=800 + 97 * i)).astype(np.float32) for i in range(k)]
    return clips, list(range(k))


def small_setup(seed=0):
    clips, digits = fake_voice()
    train = SC.UtteranceSet(clips, digits, 12, 4, seed=3, fresh=True,
                            augment={"spec_augment": True}, n_mels=16)
    train.epoch = 40
    voice = SC.UtteranceSet(*fake_voice(seed=1), 8, 64, 10_000, n_mels=16)
    manual_seed(seed)
    model = SC.SpeechCTCNet(16, channels=4, hidden=4)
    return model, train, voice


def weights(model):
    return {k: v.copy() for k, v in model.state_dict().items()}


def test_self_training_is_deterministic_and_keeps_by_the_rule():
    runs = []
    for _ in range(2):
        model, train, voice = small_setup()
        before = weights(model)
        res = A.self_train_ctc(model, A.voice_features(voice), train, threshold=0.0, epochs=2,
                               lr=1e-3, beam_width=2, seed=5)
        runs.append((weights(model), res))
        assert res["kept"] == 8 and train.epoch == 42          # two fresh training epochs
        assert any(not np.array_equal(before[k], v) for k, v in runs[-1][0].items())
    (w0, r0), (w1, r1) = runs
    assert all(np.array_equal(w0[k], w1[k]) for k in w0)
    assert r0["loss"] == r1["loss"] and r0["pseudo_labels"] == r1["pseudo_labels"]
    model, train, voice = small_setup()
    feats = A.voice_features(voice)
    _, probs = A.decode_voice(model, feats, 2)
    tau = float(np.sort(probs)[4])                             # half the utterances pass
    before = weights(model)
    res = A.self_train_ctc(model, feats, train, threshold=tau, epochs=0, lr=1e-3,
                           beam_width=2, seed=5)
    assert res["kept_index"].tolist() == np.flatnonzero(probs >= tau).tolist()
    assert res["loss"] is None and all(np.array_equal(before[k], v)
                                       for k, v in weights(model).items())
    res = A.self_train_ctc(model, feats, train, threshold=1.0, epochs=2, lr=1e-3,
                           beam_width=2, seed=5)               # nothing kept: unchanged
    assert res["kept"] == 0 and train.epoch == 40
    assert all(np.array_equal(before[k], v) for k, v in weights(model).items())


def test_pseudo_labelled_batches_hold_the_training_epoch_and_the_kept_utterances():
    model, train, voice = small_setup()
    feats = A.voice_features(voice)
    labels = [[1, 2], [3], [4, 5, 6], [7]]
    data = A.PseudoLabelled(train, feats[:4], labels, 3, seed=0, augment=False)
    assert len(data) == len(train) + 2
    batches = list(data)
    assert len(batches) == len(train) + 2
    rows = {tuple(r[2:2 + r[1]] - 1) for x, y in batches for r in y}
    assert {tuple(s) for s in labels} <= rows
    frames = sorted(int(r[0]) for x, y in batches for r in y)       # training epoch 40
    assert sorted([len(f) for f in feats[:4]] + [int(r[0]) for _, y in
                                                 _epoch(40) for r in y]) == frames
    assert frames != sorted([len(f) for f in feats[:4]] + [int(r[0]) for _, y in
                                                          _epoch(0) for r in y])
    with pytest.raises(ValueError, match="one pseudo-label per utterance"):
        A.PseudoLabelled(train, feats[:3], labels, 3, seed=0)


def _epoch(e):
    s = SC.UtteranceSet(*fake_voice(), 12, 4, seed=3, fresh=True,
                        augment={"spec_augment": True}, n_mels=16)
    s.epoch = e
    return list(s)


def test_self_training_errors_name_the_argument():
    model, train, voice = small_setup()
    feats = A.voice_features(voice)
    for kw, msg in [({"threshold": 2.0}, "threshold"), ({"epochs": -1}, "epochs"),
                    ({"lr": 0.0}, "lr"), ({"epochs": 1.5}, "epochs")]:
        args = {"threshold": 0.9, "epochs": 1, "lr": 1e-3, **kw}
        with pytest.raises(ValueError, match=rf"self_train_ctc\({msg}="):
            A.self_train_ctc(model, feats, train, beam_width=2, seed=0, **args)
    with pytest.raises(ValueError, match="at least one utterance"):
        A.self_train_ctc(model, [], train, threshold=0.5, epochs=1, lr=1e-3, beam_width=2,
                         seed=0)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ctc_adapt")
    recipe = tmp / "speech_ctc.toml"
    recipe.write_text('task = "speech_ctc"\nmax_files = 12\ntrain_utterances = 16\n'
                      'valid_utterances = 6\ntest_utterances = 4\nchannels = 8\nhidden = 8\n'
                      'epochs = 2\nbaseline_epochs = 0\nbeam_width = 2\nfeatures = "speaker"\n'
                      'valid_noise_db = -41.0\nsnr_floor_db = 25.0\n')
    out = tmp / "run"
    assert main(["train", str(recipe), "--out", str(out)]) == 0
    return out


@needs_data
def test_adapt_run_scores_before_and_after(tiny_run):
    res = A.adapt_run(tiny_run, "jackson", valid_noise_db=-41, threshold=0.0, epochs=1)
    run = json.loads((tiny_run / "run.json").read_text())
    assert res["set"] == "valid_noisy" and res["kept"] == 6
    assert res["before"] == run["valid_noisy"]["beam"]       # as the run scored the voice
    assert set(res["after"]) == {"wer", "sequence_accuracy", "n"} and res["after"]["n"] == 6
    assert 0 <= res["kept_correct"] <= res["kept"]
    again = A.adapt_run(tiny_run, "jackson", valid_noise_db=-41, threshold=0.0, epochs=1)
    assert again["hyps_after"] == res["hyps_after"] and again["loss"] == res["loss"]
    test = A.adapt_run(tiny_run, "theo", threshold=1.0, epochs=1, save=True)
    assert test["set"] == "test" and test["kept"] == 0 and test["before"] == test["after"]
    assert (tiny_run / "weights-adapted-theo.safetensors").is_file()


@needs_data
@pytest.mark.parametrize("options", [{}, {"rounds": 2, "align": True},
                                     {"rounds": 2, "align": True, "top": 0.4}])
def test_adaptation_never_reads_the_voice_labels(tiny_run, monkeypatch, options):
    res = A.adapt_run(tiny_run, "jackson", threshold=0.0, epochs=1, **options)
    scramble_held_out_labels(monkeypatch)          # the voice's labels replaced by garbage
    blind = A.adapt_run(tiny_run, "jackson", threshold=0.0, epochs=1, **options)
    assert blind["hyps_after"] == res["hyps_after"] and blind["loss"] == res["loss"]
    assert [r["weights"] for r in blind["rounds"]] == [r["weights"] for r in res["rounds"]]
    assert blind["pseudo_labels"] == res["pseudo_labels"]
    assert blind["after"]["wer"] != res["after"]["wer"]        # only the scoring saw them


@needs_data
def test_adapt_run_errors(tiny_run, tmp_path):
    with pytest.raises(ValueError, match=r"adapt_run\(voice='lucas'\).*held-out voice"):
        A.adapt_run(tiny_run, "lucas")
    with pytest.raises(ValueError, match=r"valid_noise_db=-41.*validation voice"):
        A.adapt_run(tiny_run, "theo", valid_noise_db=-41)
    with pytest.raises(ValueError, match=r"adapt_run\(valid_noise_db=3\)"):
        A.adapt_run(tiny_run, "jackson", valid_noise_db=3)
    with pytest.raises(ValueError, match=r"adapt_run\(threshold=-1\)"):
        A.adapt_run(tiny_run, "jackson", threshold=-1)
    with pytest.raises(FileNotFoundError, match="no run.json"):
        A.adapt_run(tmp_path, "jackson")


def test_control_fine_tunes_on_the_training_stream_alone():
    out = []
    for voice_seed in (1, 2):                      # two different voices: the same model
        model, train, _ = small_setup()
        voice = SC.UtteranceSet(*fake_voice(seed=voice_seed), 8, 64, 10_000 + voice_seed,
                                n_mels=16)
        res = A.self_train_ctc(model, A.voice_features(voice), train, threshold=0.0,
                               epochs=1, lr=1e-3, beam_width=2, seed=5, control=True)
        assert res["kept"] == 8 and train.epoch == 41
        out.append(weights(model))
    model, train, voice = small_setup()
    A.self_train_ctc(model, A.voice_features(voice), train, threshold=0.0, epochs=1, lr=1e-3,
                     beam_width=2, seed=5)
    assert all(np.array_equal(out[0][k], out[1][k]) for k in out[0])
    assert any(not np.array_equal(out[0][k], v) for k, v in weights(model).items())


@needs_data
def test_the_task_self_trains_each_held_out_voice_when_asked(tiny_run, tmp_path):
    """``glassnet train`` with self_train_epochs: run.json holds each held-out set before and
    after, the headline test figure is the adapted one, and the saved weights stay the
    trained ones (equal to the same run's without self-training)."""
    recipe = tmp_path / "speech_ctc.toml"
    recipe.write_text((tiny_run / "recipe.toml").read_text())
    out = tmp_path / "run"
    assert main(["train", str(recipe), "--out", str(out), "--set", "self_train_epochs=1",
                 "--set", "self_train_threshold=0.0", "--set", "self_train_rounds=2",
                 "--set", "self_train_align=true"]) == 0
    run, plain = (json.loads((d / "run.json").read_text()) for d in (out, tiny_run))
    assert set(run["self_train"]) == {"valid", "valid_noisy", "test"}
    for name, a in run["self_train"].items():
        assert a["before"] == plain[name if name != "test" else "test_decodings"]["beam"]
        assert a["kept"] == a["before"]["n"]                 # threshold 0 keeps every one
        assert [r["round"] for r in a["rounds"]] == [1, 2] and "before_aligned" in a
        assert a["rounds"][1]["after"] == a["after"]
    assert run["test"] == {k: run["self_train"]["test"]["after"][k]
                           for k in ("wer", "sequence_accuracy")}
    assert run["test_before_self_train"] == plain["test"]
    trained, plain_w = (load_weights(None, d / "weights.safetensors") for d in (out, tiny_run))
    assert trained.keys() == plain_w.keys()
    assert all(np.array_equal(trained[k], plain_w[k]) for k in trained)
    again = A.adapt_run(out, "theo", threshold=0.0, epochs=1, rounds=2, align=True)
    assert again["after"] == run["self_train"]["test"]["after"]


@pytest.mark.parametrize("key, bad", [("self_train_threshold", "1.5"),
                                      ("self_train_epochs", "-1"), ("self_train_lr", "0"),
                                      ("self_train_rounds", "0"), ("self_train_rounds", "1.5"),
                                      ("self_train_align", "maybe"),
                                      ("self_train_top", "1.5"), ("self_train_top", "-0.1")])
def test_self_train_keys_are_validated(key, bad):
    with pytest.raises(ValueError, match=key):
        SC.SpeechCTCRecipe().with_overrides([f"{key}={bad}"])


def test_two_rounds_continue_from_the_first():
    """Round 1 of ``self_train_rounds`` is ``self_train_ctc`` itself; round 2 pseudo-labels
    with the once-adapted model (its decodings are that model's) and fine-tunes it further on
    the training stream's next epochs, with seed + 1."""
    model, train, voice = small_setup()
    feats = A.voice_features(voice)
    one = A.self_train_ctc(model, feats, train, threshold=0.0, epochs=1, lr=1e-3,
                           beam_width=2, seed=5)
    after_one = weights(model)
    decoded_one = A.decode_voice(model, feats, 2)[0]
    model, train, voice = small_setup()
    recs = A.self_train_rounds(model, feats, train, rounds=2, threshold=0.0, epochs=1,
                               lr=1e-3, beam_width=2, seed=5)
    assert [r["round"] for r in recs] == [1, 2] and train.epoch == 42
    assert recs[0]["loss"] == one["loss"] and recs[0]["pseudo_labels"] == one["pseudo_labels"]
    assert recs[1]["decoded"] == decoded_one                  # the once-adapted model's
    assert any(not np.array_equal(after_one[k], v) for k, v in weights(model).items())
    model2, train2, _ = small_setup()                         # round 2 = a fresh call, seed 6
    A.self_train_ctc(model2, feats, train2, threshold=0.0, epochs=1, lr=1e-3, beam_width=2,
                     seed=5)
    A.self_train_ctc(model2, feats, train2, threshold=0.0, epochs=1, lr=1e-3, beam_width=2,
                     seed=6)
    assert all(np.array_equal(weights(model2)[k], v) for k, v in weights(model).items())
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match=r"self_train_rounds\(rounds=.*int >= 1"):
            A.self_train_rounds(model, feats, train, rounds=bad, threshold=0.0, epochs=1,
                                lr=1e-3, beam_width=2, seed=5)


def test_aligned_pseudo_labels_decode_the_reweighed_outputs():
    from glassnet.apps.ctc_align import ctc_prior_weights, reweight
    model, train, voice = small_setup()
    feats = A.voice_features(voice)
    lps = A.voice_log_probs(model, feats)
    w = ctc_prior_weights(lps)
    want = [A.decode_with_confidence(reweight(lp, w), 2) for lp in lps]
    digits, probs, got_w = A.decode_voice(model, feats, 2, align=True)
    np.testing.assert_array_equal(got_w, w)
    assert digits == [d for d, _ in want] and probs.tolist() == [p for _, p in want]
    res = A.self_train_ctc(model, feats, train, threshold=0.0, epochs=0, lr=1e-3,
                           beam_width=2, seed=5, align=True)
    assert res["decoded"] == digits and res["pseudo_labels"] == digits
    np.testing.assert_array_equal(res["weights"], w)


@needs_data
def test_adapt_run_rounds_and_alignment(tiny_run):
    run = json.loads((tiny_run / "run.json").read_text())
    one = A.adapt_run(tiny_run, "jackson", valid_noise_db=-41, threshold=0.0, epochs=1,
                      align=True)
    two = A.adapt_run(tiny_run, "jackson", valid_noise_db=-41, threshold=0.0, epochs=1,
                      align=True, rounds=2)
    for res in (one, two):
        assert res["before"] == run["valid_noisy"]["beam"]   # the trained model, unaligned
        assert set(res["before_aligned"]) == {"wer", "sequence_accuracy", "n"}
        assert len(res["weights_after"]) == 11 and res["weights_after"][0] == 1.0
    assert [r["round"] for r in two["rounds"]] == [1, 2]
    assert two["rounds"][0]["after"] == one["after"] == one["rounds"][0]["after"]
    assert two["rounds"][0]["weights"] == one["rounds"][0]["weights"]
    assert two["rounds"][1]["after"] == two["after"]
    assert two["settings"]["rounds"] == 2 and two["settings"]["align"] is True
    with pytest.raises(ValueError, match=r"adapt_run\(rounds=0\)"):
        A.adapt_run(tiny_run, "jackson", rounds=0)


@needs_data
def test_transcribe_self_train_adapts_to_the_voice_files(tiny_run, tmp_path, capsys):
    """``glassnet transcribe RUN f.wav --voice … --self-train``: the digits of the model
    self-trained on the files (the recipe's settings, here 2 rounds, aligned, everything
    kept), the same as doing those steps by hand; the run folder is left as it was."""
    import shutil

    from glassnet.apps import speech_ctc_transcribe as T
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    recipe = run / "recipe.toml"
    plain_recipe = recipe.read_text()
    keys = {"self_train_epochs": "1", "self_train_threshold": "0.0",
            "self_train_rounds": "2", "self_train_align": "true"}
    recipe.write_text("".join(line for line in plain_recipe.splitlines(True)
                              if line.split(" = ")[0] not in keys)
                      + "".join(f"{k} = {v}\n" for k, v in keys.items()))
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    rng = np.random.default_rng(0)
    clips, digits, _ = SC._load_clips(SC.SpeechCTCRecipe(max_files=20))["lucas"]
    wavs = []
    from scipy.io import wavfile
    for i in range(5):
        sig, _, _ = SC.build_utterance(clips, digits, rng, noise=0.001)
        wavs.append(tmp_path / f"u{i}.wav")
        wavfile.write(wavs[-1], 8000, (np.clip(sig, -1, 1) * 32767).astype(np.int16))
    got, rounds = T.transcribe_self_trained(run, wavs[0], wavs[1:])
    assert [r["kept"] for r in rounds] == [5, 5]               # threshold 0: all, twice
    model, rec, stats = SC.load_speech_ctc_run(run)          # by hand
    feats = T.voice_file_features(rec, stats, wavs)
    train = A.training_set(rec, SC._load_clips(rec), "speaker")
    recs = A.self_train_rounds(model, feats, train, rounds=2, threshold=0.0, epochs=1,
                               lr=rec.self_train_lr, beam_width=rec.beam_width,
                               seed=rec.seed, align=True)
    assert [r["loss"] for r in recs] == [r["loss"] for r in rounds]
    assert got == A.decode_voice(model, feats, rec.beam_width, align=True)[0][0]
    assert main(["transcribe", str(run), str(wavs[0]), "--voice", *map(str, wavs[1:]),
                 "--self-train"]) == 0
    out = capsys.readouterr()
    assert out.out.strip() == "".join(map(str, got)) and "kept per round: 5, 5" in out.err
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before   # nothing written
    assert main(["transcribe", str(run), str(wavs[0]), "--self-train"]) == 2
    assert "expected more recordings of the voice" in capsys.readouterr().err
    recipe.write_text(plain_recipe)                                    # self_train_epochs 0
    assert main(["transcribe", str(run), str(wavs[0]), "--voice", str(wavs[1]),
                 "--self-train"]) == 2
    assert "self_train_epochs = 0" in capsys.readouterr().err
