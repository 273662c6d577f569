"""Seed ensembles of CTC runs (glassnet.apps.speech_ctc_ensemble): the averaged posteriors
against PyTorch's logsumexp and a float64 mean of probabilities (each frame summing to 1), an
ensemble of identical members equal to the single model (decoding, self-training and a whole
``adapt_ensemble`` against ``adapt_run``), the member fine-tuning equal to
``self_train_ctc``'s, the adaptation blind to the voice's labels, and the errors."""
import json
import shutil

import numpy as np
import pytest
import torch

from glassnet.apps import speech_ctc as SC
from glassnet.apps import speech_ctc_adapt as A
from glassnet.apps import speech_ctc_ensemble as E
from glassnet.cli import main
from glassnet.tensor import Tensor, manual_seed, no_grad
from glassnet.apps.ctc_align import align_ctc_priors
from glassnet.ops.ctc_ref import ctc_nll_ref
from tests.apps.speech_helpers import needs_data, scramble_held_out_labels
from tests.apps.test_speech_ctc_adapt import fake_voice, small_setup, weights


def random_log_probs(rng, k, t=7, c=11):
    logits = rng.normal(scale=3.0, size=(k, t, c))
    return [np.asarray(torch.log_softmax(torch.tensor(x), -1), np.float32) for x in logits]


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_average_log_probs_is_the_log_of_the_mean_posterior(k):
    lps = random_log_probs(np.random.default_rng(k), k)
    got = E.average_log_probs(lps)
    assert got.shape == (7, 11) and got.dtype == np.float32
    want = torch.logsumexp(torch.tensor(np.stack(lps), dtype=torch.float64), 0) - np.log(k)
    np.testing.assert_allclose(got, want.numpy(), rtol=0, atol=2e-6)
    mean = np.mean([np.exp(lp.astype(np.float64)) for lp in lps], axis=0)
    np.testing.assert_allclose(np.exp(got.astype(np.float64)), mean, rtol=2e-6, atol=1e-12)
    np.testing.assert_allclose(np.exp(got.astype(np.float64)).sum(-1), 1.0, atol=1e-5)


def test_identical_members_and_extreme_values():
    lp = random_log_probs(np.random.default_rng(0), 1)[0]
    assert np.array_equal(E.average_log_probs([lp]), lp)
    assert np.array_equal(E.average_log_probs([lp, lp, lp]), lp)
    sure = np.log(np.array([[1.0, 0.0]], np.float32) + 1e-38)   # near -87: no underflow to nan
    other = np.log(np.array([[0.0 + 1e-38, 1.0]], np.float32))
    np.testing.assert_allclose(np.exp(E.average_log_probs([sure, other])), [[0.5, 0.5]],
                               atol=1e-6)
    ninf = np.array([[0.0, -np.inf]])
    assert np.array_equal(E.average_log_probs([ninf, ninf]), ninf)


def test_average_log_probs_errors():
    with pytest.raises(ValueError, match="at least one member"):
        E.average_log_probs([])
    with pytest.raises(ValueError, match=r"one shape for every member.*\(3, 11\).*\(4, 11\)"):
        E.average_log_probs([np.zeros((3, 11)), np.zeros((4, 11))])


def test_member_log_probs_are_each_utterance_alone():
    model, _, voice = small_setup()
    feats = A.voice_features(voice)
    lps = E.decode_ensemble([model], feats, 2, batch=3)[2][0]
    with no_grad():
        for f, lp in zip(feats, lps):
            alone = model(Tensor(SC._batch([f]))).array[:, 0]
            assert lp.shape == alone.shape == (SC.SpeechCTCNet.output_lengths(len(f)), 11)
            np.testing.assert_allclose(lp, alone, rtol=1e-5, atol=1e-5)


def test_an_ensemble_of_one_or_of_copies_decodes_as_the_model():
    model, _, voice = small_setup()
    feats = A.voice_features(voice)
    digits, probs = A.decode_voice(model, feats, 3)
    for members in ([model], [model, model, model]):
        d, p, lps = E.decode_ensemble(members, feats, 3)
        assert d == digits and np.array_equal(p, probs) and len(lps) == len(members)


def test_two_members_decode_their_averaged_posteriors():
    (m0, _, voice), (m1, _, _) = small_setup(0), small_setup(1)
    feats = A.voice_features(voice)
    digits, probs, lps = E.decode_ensemble([m0, m1], feats, 3)
    own = [A.decode_voice(m, feats, 3) for m in (m0, m1)]
    assert lps[0] and [A.decode_with_confidence(lp, 3)[0] for lp in lps[1]] == own[1][0]
    for i in range(len(feats)):
        avg = np.log((np.exp(lps[0][i].astype(np.float64))
                      + np.exp(lps[1][i].astype(np.float64))) / 2)
        d, p = A.decode_with_confidence(avg, 3)
        assert d == digits[i] and p == pytest.approx(probs[i], rel=1e-5)
    for alone in own:                                          # not either member alone
        assert not np.allclose(probs, alone[1], rtol=1e-3, atol=0)


@pytest.mark.parametrize("align", [False, True])
def test_strings_of_one_member_or_of_copies_are_the_models_own(align):
    model, _, voice = small_setup()
    feats = A.voice_features(voice)
    digits, probs, *_ = A.decode_voice(model, feats, 3, align=align)
    lps = A.voice_log_probs(model, feats)
    lps = align_ctc_priors(lps, blank=SC.BLANK)[0] if align else lps
    exact = [np.exp(-ctc_nll_ref(lp, [k + 1 for k in d])) for lp, d in zip(lps, digits)]
    for members in ([model], [model, model]):
        d, p, _ = E.decode_ensemble(members, feats, 3, combine="strings", align=align)
        assert d == digits
        np.testing.assert_allclose(p, exact, rtol=1e-6, atol=0)
        assert np.all(p >= probs * (1 - 1e-5))      # the beam's sum is a lower bound


def test_two_members_decode_by_the_mixture_of_their_strings():
    (m0, _, voice), (m1, _, _) = small_setup(0), small_setup(1)
    feats = A.voice_features(voice)
    digits, probs, lps = E.decode_ensemble([m0, m1], feats, 3, combine="strings", align=True)
    aligned = [align_ctc_priors(lp, blank=SC.BLANK)[0] for lp in lps]
    own = [A.decode_voice(m, feats, 3, align=True)[0] for m in (m0, m1)]
    assert own[0] != own[1]                          # the members disagree somewhere
    for i in range(len(feats)):
        cands = [own[0][i]] + ([own[1][i]] if own[1][i] != own[0][i] else [])
        mix = [np.mean([np.exp(-ctc_nll_ref(a[i], [k + 1 for k in c])) for a in aligned])
               for c in cands]
        assert digits[i] == cands[int(np.argmax(mix))]
        assert probs[i] == pytest.approx(max(mix), rel=1e-6)
    with pytest.raises(ValueError, match=r"decode_ensemble\(combine='votes'\)"):
        E.decode_ensemble([m0], feats, 3, combine="votes")


def test_fine_tune_is_self_training_on_given_labels():
    model, train, voice = small_setup()
    feats = A.voice_features(voice)
    res = A.self_train_ctc(model, feats, train, threshold=0.0, epochs=2, lr=1e-3,
                           beam_width=2, seed=5)
    again, train2, _ = small_setup()
    loss = E.fine_tune(again, [feats[i] for i in res["kept_index"]], res["pseudo_labels"],
                       train2, epochs=2, lr=1e-3, seed=5)
    assert loss == res["loss"] and train2.epoch == train.epoch == 42
    w, w2 = weights(model), weights(again)
    assert all(np.array_equal(w[k], w2[k]) for k in w)
    before = weights(again)
    assert E.fine_tune(again, [], [], train2, epochs=2, lr=1e-3, seed=5) is None
    assert train2.epoch == 42 and all(np.array_equal(before[k], v)
                                      for k, v in weights(again).items())


def test_ensemble_self_training_of_copies_is_self_training():
    model, train, voice = small_setup()
    feats = A.voice_features(voice)
    _, probs = A.decode_voice(model, feats, 2)
    tau = float(np.sort(probs)[4])
    res = A.self_train_ctc(model, feats, train, threshold=tau, epochs=1, lr=1e-3,
                           beam_width=2, seed=5)
    models, trains = zip(*[small_setup()[:2] for _ in range(2)])
    ens = E.ensemble_self_train(list(models), feats, list(trains), threshold=tau, epochs=1,
                                lr=1e-3, beam_width=2, seeds=[5, 5])
    assert ens["kept_index"].tolist() == res["kept_index"].tolist() == \
        np.flatnonzero(probs >= tau).tolist()
    assert ens["pseudo_labels"] == res["pseudo_labels"] and ens["losses"] == [res["loss"]] * 2
    for m in models:
        w, wm = weights(model), weights(m)
        assert all(np.array_equal(w[k], wm[k]) for k in w)
    other, train3, _ = small_setup()                          # another seed: another model
    E.ensemble_self_train([other], feats, [train3], threshold=tau, epochs=1, lr=1e-3,
                          beam_width=2, seeds=[6])
    assert any(not np.array_equal(weights(model)[k], v) for k, v in weights(other).items())


def test_ensemble_self_training_errors_name_the_argument():
    model, train, voice = small_setup()
    feats = A.voice_features(voice)
    for kw, msg in [({"threshold": 2.0}, r"threshold=2\.0"), ({"epochs": -1}, "epochs=-1"),
                    ({"lr": 0.0}, r"lr=0\.0"), ({"seeds": [1, 2]}, "one training stream")]:
        args = {"threshold": 0.9, "epochs": 1, "lr": 1e-3, "seeds": [0], **kw}
        with pytest.raises(ValueError, match=rf"ensemble_self_train.*{msg}"):
            E.ensemble_self_train([model], feats, [train], beam_width=2, **args)
    with pytest.raises(ValueError, match="at least one utterance"):
        E.ensemble_self_train([model], [], [train], threshold=0.5, epochs=1, lr=1e-3,
                              beam_width=2, seeds=[0])
    with pytest.raises(ValueError, match="at least one model"):
        E.decode_ensemble([], A.voice_features(SC.UtteranceSet(*fake_voice(), 2, 64, 1,
                                                                n_mels=16)), 2)
    manual_seed(0)


RECIPE = ('task = "speech_ctc"\nmax_files = 12\ntrain_utterances = 16\nvalid_utterances = 6\n'
          'test_utterances = 4\nchannels = 8\nhidden = 8\nepochs = 2\nbaseline_epochs = 0\n'
          'beam_width = 2\nfeatures = "speaker"\nvalid_noise_db = -41.0\nsnr_floor_db = 25.0\n')


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ctc_ensemble")
    recipe = tmp / "speech_ctc.toml"
    recipe.write_text(RECIPE)
    outs = [tmp / f"seed{s}" for s in (0, 1)]
    for s, out in zip((0, 1), outs):
        assert main(["train", str(recipe), "--out", str(out), "--set", f"seed={s}",
                     "--quiet"]) == 0
    return outs


@needs_data
def test_adapt_ensemble_scores_the_members_as_adapt_run(tiny_runs):
    res = E.adapt_ensemble(tiny_runs, "jackson", valid_noise_db=-41, threshold=0.0, epochs=1)
    assert res["set"] == "valid_noisy" and res["settings"]["k"] == 2
    for m, r in zip(res["members"], tiny_runs):
        run = json.loads((r / "run.json").read_text())
        assert m["before"] == run["valid_noisy"]["beam"]     # as the run scored the voice
        alone = A.adapt_run(r, "jackson", valid_noise_db=-41, threshold=0.0, epochs=1,
                            seed=m["seed"])
        assert m["after"] == alone["after"] and m["kept"] == alone["kept"] == 6
    assert [m["seed"] for m in res["members"]] == [0, 1]
    assert res["members_mean"]["after"] == pytest.approx(
        np.mean([m["after"]["wer"] for m in res["members"]]), abs=1e-4)
    ens = res["ensemble"]
    assert ens["kept"] == 6 and ens["pseudo_labels"] == ens["hyps_before"]
    avg = res["singles_average"]                   # the self-trained members, averaged
    assert avg["after"]["n"] == 6 and len(avg["hyps_after"]) == 6
    assert set(ens["after"]) == {"wer", "sequence_accuracy", "n"} and ens["after"]["n"] == 6
    again = E.adapt_ensemble(tiny_runs, "jackson", valid_noise_db=-41, threshold=0.0,
                             epochs=1, singles=False)
    assert again["ensemble"]["hyps_after"] == ens["hyps_after"] and "after" not in \
        again["members"][0] and "after" not in again["members_mean"]
    assert "singles_average" not in again


@needs_data
def test_an_ensemble_of_copies_of_one_run_adapts_as_the_run(tiny_runs):
    run = tiny_runs[0]
    alone = A.adapt_run(run, "theo", threshold=0.0, epochs=1, seed=0)
    res = E.adapt_ensemble([run, run, run], "theo", threshold=0.0, epochs=1, singles=False)
    ens = res["ensemble"]
    assert ens["hyps_before"] == alone["hyps_before"] and ens["before"] == alone["before"]
    assert ens["pseudo_labels"] == alone["pseudo_labels"]
    assert ens["hyps_after"] == alone["hyps_after"] and ens["after"] == alone["after"]
    assert ens["losses"] == [alone["loss"]] * 3
    both = E.adapt_ensemble([run, run], "theo", threshold=0.0, epochs=1)
    assert both["singles_average"]["hyps_after"] == alone["hyps_after"]
    assert both["members"][0]["after"] == alone["after"]


@needs_data
def test_copies_self_trained_in_rounds_by_strings_adapt_as_the_run(tiny_runs):
    run = tiny_runs[0]
    kw = {"threshold": 0.0, "epochs": 1, "rounds": 2, "align": True}
    alone = A.adapt_run(run, "theo", seed=0, **kw)
    res = E.adapt_ensemble([run, run], "theo", combine="strings", singles=False, **kw)
    ens = res["ensemble"]
    assert ens["before"] == alone["before_aligned"]          # aligned, before fine-tuning
    assert ens["pseudo_labels"] == alone["pseudo_labels"]
    assert ens["hyps_after"] == alone["hyps_after"] and ens["after"] == alone["after"]
    assert [r["after"] for r in ens["rounds"]] == [r["after"] for r in alone["rounds"]]
    assert [r["kept"] for r in ens["rounds"]] == [r["kept"] for r in alone["rounds"]] == [4, 4]
    assert res["settings"]["combine"] == "strings" and res["settings"]["rounds"] == 2


@needs_data
def test_each_member_alone_is_adapt_run_with_the_same_rounds(tiny_runs):
    kw = {"valid_noise_db": -41, "threshold": 0.5, "epochs": 1, "rounds": 2, "align": True,
          "top": 0.5}
    res = E.adapt_ensemble(tiny_runs, "jackson", combine="strings", **kw)
    for m, r in zip(res["members"], tiny_runs):
        alone = A.adapt_run(r, "jackson", seed=m["seed"], **kw)
        assert m["after"] == alone["after"] and m["kept"] == alone["kept"]
        assert m["kept_correct"] == alone["kept_correct"]
    assert [r["kept"] for r in res["ensemble"]["rounds"]][1] >= 6    # round 2: all of 6


@needs_data
def test_the_ensemble_never_reads_the_voice_labels(tiny_runs, monkeypatch):
    res = E.adapt_ensemble(tiny_runs, "jackson", threshold=0.0, epochs=1, singles=False)
    scramble_held_out_labels(monkeypatch)          # the voice's labels replaced by garbage
    blind = E.adapt_ensemble(tiny_runs, "jackson", threshold=0.0, epochs=1, singles=False)
    for key in ("hyps_before", "pseudo_labels", "hyps_after", "losses"):
        assert blind["ensemble"][key] == res["ensemble"][key]
    assert blind["ensemble"]["after"]["wer"] != res["ensemble"]["after"]["wer"]


@needs_data
def test_adapt_ensemble_errors(tiny_runs, tmp_path):
    with pytest.raises(ValueError, match=r"adapt_ensemble\(voice='lucas'\).*held-out voice"):
        E.adapt_ensemble(tiny_runs, "lucas")
    with pytest.raises(ValueError, match=r"adapt_ensemble\(valid_noise_db=3\)"):
        E.adapt_ensemble(tiny_runs, "jackson", valid_noise_db=3)
    with pytest.raises(ValueError, match=r"adapt_ensemble\(threshold=-1\)"):
        E.adapt_ensemble(tiny_runs, "jackson", threshold=-1)
    with pytest.raises(FileNotFoundError, match="no run.json"):
        E.adapt_ensemble([tiny_runs[0], tmp_path], "jackson")
    with pytest.raises(ValueError, match=r"load_ensemble\(run_dirs\): expected at least one"):
        E.load_ensemble([])
    other = tmp_path / "other"
    shutil.copytree(tiny_runs[1], other)
    rec = other / "recipe.toml"
    rec.write_text(rec.read_text().replace("lr = 0.003", "lr = 0.001"))
    with pytest.raises(ValueError, match=r"one recipe with other seeds; lr = 0\.001 in"):
        E.load_ensemble([tiny_runs[0], other])
    rec.write_text(rec.read_text().replace("lr = 0.001", "lr = 0.003")
                   .replace("seed = 1", "seed = 7"))
    assert [r.seed for r in E.load_ensemble([tiny_runs[0], other])[1]] == [0, 7]


@needs_data
def test_the_task_with_an_ensemble_trains_members_and_self_trains_them_together(tmp_path,
                                                                               capsys):
    """``ensemble = 2``: the run folder is seed 0, ``members/seed1`` seed 1 (no baseline);
    each held-out set is self-trained and decoded by the two together, as
    ``adapt_ensemble(combine="strings")`` does on the folders; ``transcribe`` decodes a
    file with both, plain and self-trained."""
    from scipy.io import wavfile

    from glassnet.apps import speech_ctc_transcribe as T
    recipe = tmp_path / "speech_ctc.toml"
    keys = {"ensemble": "2", "self_train_epochs": "1", "self_train_threshold": "0.5",
            "self_train_rounds": "2", "self_train_align": "true", "self_train_top": "0.5"}
    recipe.write_text(RECIPE + "".join(f"{k} = {v}\n" for k, v in keys.items()))
    out = tmp_path / "run"
    assert main(["train", str(recipe), "--out", str(out), "--quiet"]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["members"] == ["members/seed1"]
    member = SC.load_speech_ctc_run(out / "members" / "seed1")[1]
    assert member.seed == 1 and member.baseline_epochs == 0 and member.ensemble == 2
    dirs = E.member_dirs(out, SC.SpeechCTCRecipe.from_toml(out / "recipe.toml"))
    assert set(run["self_train"]) == {"valid", "valid_noisy", "test"}
    by_hand = E.adapt_ensemble(dirs, "theo", threshold=0.5, epochs=1, singles=False,
                               combine="strings", rounds=2, align=True, top=0.5)
    t = run["self_train"]["test"]
    assert t["after"] == by_hand["ensemble"]["after"] and t["before"] == \
        by_hand["ensemble"]["before"]
    assert [r["kept"] for r in t["rounds"]] == [r["kept"] for r in by_hand["ensemble"]["rounds"]]
    assert t["members_before"][0] == run["test_decodings"]["beam"]
    assert run["test"] == {k: t["after"][k] for k in ("wer", "sequence_accuracy")}
    clips, digits, _ = SC._load_clips(SC.SpeechCTCRecipe(max_files=20))["lucas"]
    rng, wavs = np.random.default_rng(0), []
    for i in range(3):
        sig, _, _ = SC.build_utterance(clips, digits, rng, noise=0.001)
        wavs.append(tmp_path / f"u{i}.wav")
        wavfile.write(wavs[-1], 8000, (np.clip(sig, -1, 1) * 32767).astype(np.int16))
    models, recs = E.load_ensemble(dirs)
    feats = T.voice_file_features(recs[0], None, wavs)
    want = E.decode_ensemble(models, feats[:1], 2, combine="strings")[0][0]
    assert main(["transcribe", str(out), str(wavs[0]), "--voice", *map(str, wavs[1:])]) == 0
    assert capsys.readouterr().out.strip() == "".join(map(str, want))
    got, rounds = T.transcribe_self_trained(out, wavs[0], wavs[1:])
    assert [r["round"] for r in rounds] == [1, 2] and len(rounds[0]["loss"]) == 2
    trains = [A.training_set(r, SC._load_clips(r), "speaker") for r in recs]
    E.ensemble_self_train_rounds(models, feats, trains, rounds=2, threshold=0.5, epochs=1,
                                 lr=recs[0].self_train_lr, beam_width=2, seeds=[0, 1],
                                 combine="strings", align=True, top=0.5)
    assert got == E.decode_ensemble(models, feats, 2, combine="strings", align=True)[0][0]


def test_an_ensemble_needs_self_training():
    with pytest.raises(ValueError, match=r"ensemble: expected 1 while self_train_epochs = 0"):
        SC.SpeechCTCRecipe().with_overrides(["ensemble=3"]).check("recipe")
    with pytest.raises(ValueError, match="ensemble"):
        SC.SpeechCTCRecipe().with_overrides(["ensemble=0"])
