"""Machine translation app: data handling, the model against PyTorch, decoding, save/load, CLI."""
import contextlib
import os
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.apps.translation import (EOS, PAD, SOS, Seq2Seq, Translator, Vocab, beam_search,
                                       detokenize, greedy_decode, load_pairs, pad_batch,
                                       split_pairs, tokenize)
from glassnet.apps.translation_train import (PairBatches, TeacherForced, TranslationRecipe,
                                             corpus_bleu, mean_loss, token_nll)
from glassnet.runs.common import ClipGradNorm

DATA = Path(os.environ.get("GLASSNET_DATA")
            or Path(__file__).resolve().parents[2] / ".." / "shared" / "data")
ZIP = DATA / "translation" / "fra-eng.zip"
needs_data = pytest.mark.skipif(not ZIP.is_file(), reason=f"translation data not found at "
                                f"{ZIP} (set GLASSNET_DATA to the shared data folder)")


def test_tokenize_and_detokenize():
    assert tokenize("I'm cold.") == ["i", "'", "m", "cold", "."]
    assert tokenize("Ça va\u202f?") == ["ça", "va", "?"]
    assert detokenize(["j", "'", "ai", "froid", "."]) == "j'ai froid."
    assert detokenize(["est", "-", "ce", "bon", "?"]) == "est-ce bon ?"


def test_vocab_and_padding():
    v = Vocab.build([["a", "b", "a"], ["c"]], min_count=2)
    assert v.itos == ["<pad>", "<s>", "</s>", "<unk>", "a"]
    assert v.encode(["a", "c"]) == [4, 3]
    assert v.decode([SOS, 4, 3, EOS, 4]) == ["a", "<unk>"]
    ids, lengths = pad_batch([[5, 6], [7]], sos=True, eos=True)
    np.testing.assert_array_equal(ids, [[SOS, 5, 6, EOS], [SOS, 7, EOS, PAD]])
    np.testing.assert_array_equal(lengths, [4, 3])
    with pytest.raises(ValueError, match="specials"):
        Vocab(["a", "b"])


def test_split_holds_out_whole_sources():
    pairs = [(["s", str(i % 7)], ["t", str(i)]) for i in range(40)]
    train, test = split_pairs(pairs, 0.3, seed=1)
    held = {tuple(s) for s, _ in test}
    assert held and not held & {tuple(e) for e, _ in train}
    assert sum(len(r) for _, r in test) + len(train) == len(pairs)


def _torch_forward(model, src, lengths, tgt_in):
    """The same network written in PyTorch, loaded with the glassnet weights."""
    torch = pytest.importorskip("torch")
    tnn = torch.nn
    c = model.config
    E, H = c["emb"], c["hidden"]
    mods = tnn.ModuleDict({
        "src_emb": tnn.Embedding(c["src_vocab"], E), "tgt_emb": tnn.Embedding(c["tgt_vocab"], E),
        "encoder": tnn.GRU(E, H, batch_first=True, bidirectional=True),
        "bridge": tnn.Linear(2 * H, H), "decoder": tnn.GRU(E, H, batch_first=True),
        "attn": tnn.Linear(2 * H, H, bias=False), "combine": tnn.Linear(3 * H, H),
        "out": tnn.Linear(H, c["tgt_vocab"])}).double()
    mods.load_state_dict({k: torch.tensor(v, dtype=torch.float64)
                          for k, v in model.state_dict().items()})
    src_t, tgt_t = torch.tensor(src), torch.tensor(tgt_in)
    packed = tnn.utils.rnn.pack_padded_sequence(mods["src_emb"](src_t), torch.tensor(lengths),
                                                batch_first=True, enforce_sorted=False)
    mem, h_n = mods["encoder"](packed)
    mem, _ = tnn.utils.rnn.pad_packed_sequence(mem, batch_first=True,
                                               total_length=src.shape[1])
    h0 = torch.tanh(mods["bridge"](torch.cat([h_n[0], h_n[1]], -1)))[None]
    d, _ = mods["decoder"](mods["tgt_emb"](tgt_t), h0)
    score = d @ mods["attn"](mem).transpose(1, 2)
    pad = torch.arange(src.shape[1])[None, None, :] >= torch.tensor(lengths)[:, None, None]
    alpha = torch.softmax(score.masked_fill(pad, -1e9), -1)
    h = torch.tanh(mods["combine"](torch.cat([d, alpha @ mem], -1)))
    return mods["out"](h), mods


def test_seq2seq_matches_pytorch_values_and_grads():
    torch = pytest.importorskip("torch")
    gn.manual_seed(0)
    model = Seq2Seq(11, 13, emb=6, hidden=5, dropout=0.0)
    rng = np.random.default_rng(0)
    src = rng.integers(4, 11, (3, 5))
    lengths = np.array([5, 2, 4])
    src[1, 2:] = PAD
    src[2, 4:] = PAD
    tgt_in = rng.integers(1, 13, (3, 4))
    out = model(src, lengths, tgt_in)
    w = rng.standard_normal(out.shape)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)                # tiny tensors: threads only contend
    try:
        ref, mods = _torch_forward(model, src, lengths, tgt_in)
        (ref * torch.tensor(w)).sum().backward()
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-5)
    (out * gn.tensor(w.astype(np.float32))).sum().backward()
    grads = dict(mods.named_parameters())
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), grads[name].grad.numpy(), rtol=1e-3,
                                   atol=1e-5, err_msg=name)


def test_encode_rejects_bad_input():
    model = Seq2Seq(10, 10, emb=4, hidden=4)
    with pytest.raises(ValueError, match="Seq2Seq.encode"):
        model.encode(np.ones((2, 3), np.float32), [3, 3])


def test_recipe_validation(tmp_path):
    with pytest.raises(ValueError, match="hidden: expected >= 1, got 0"):
        TranslationRecipe(hidden=0)
    bad = tmp_path / "r.toml"
    bad.write_text('task = "translation"\nhiden = 3\n')
    with pytest.raises(ValueError, match="unknown key 'hiden'"):
        TranslationRecipe.from_toml(bad)
    bad.write_text('task = "translation"\nhidden = \n')
    with pytest.raises(ValueError, match=r"recipe .*r\.toml: invalid TOML"):
        TranslationRecipe.from_toml(bad)


def test_corpus_bleu_uses_every_reference():
    pytest.importorskip("sacrebleu")
    test = [(["i", "am", "cold", "."], [["j", "'", "ai", "froid", "."]]),
            (["he", "is", "tall", "."], [["il", "est", "petit", "."],
                                         ["il", "est", "grand", "."]])]

    class Oracle:                       # answers with the last reference of each source
        def translate_batch(self, sentences, beam=1):
            return [dict((tuple(s), r[-1]) for s, r in test)[tuple(s)] for s in sentences]
    bleu, hyps = corpus_bleu(Oracle(), test)
    assert bleu == pytest.approx(100.0) and hyps[0] == "j'ai froid."


def _one_blas_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)


# -- on the real data -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained():
    """A small model trained for a few steps on the first 400 real pairs."""
    if not ZIP.is_file():
        pytest.skip(f"translation data not found at {ZIP} (set GLASSNET_DATA)")
    pairs = load_pairs(ZIP, limit=400)
    src_vocab = Vocab.build([e for e, _ in pairs])
    tgt_vocab = Vocab.build([f for _, f in pairs])
    ids = [(src_vocab.encode(e), tgt_vocab.encode(f)) for e, f in pairs]
    gn.manual_seed(0)
    model = Seq2Seq(len(src_vocab), len(tgt_vocab), emb=32, hidden=64, dropout=0.0)
    opt = gn.optim.Adam(model.parameters(), lr=5e-3)
    fixed = PairBatches(ids[:128], 32)           # the same batches, in the same order, 4 times
    with _one_blas_thread():            # small matrices: BLAS threads only contend
        before = mean_loss(model, ids[:128])
        gn.train.fit(TeacherForced(model), token_nll, ClipGradNorm(opt, 1.0), fixed, epochs=4,
                     metrics=(), verbose=False)
        after = mean_loss(model, ids[:128])
    return Translator(model, src_vocab, tgt_vocab, max_len=12), pairs, before, after


@needs_data
def test_real_pairs_are_filtered_short_sentences():
    pairs = load_pairs(ZIP, limit=300)
    assert len(pairs) == 300 and all(len(e) <= 10 and len(f) <= 10 for e, f in pairs)
    assert all(" ".join(e).startswith(("i ", "he ", "she ", "you ", "we ", "they "))
               for e, _ in pairs)


@needs_data
def test_loss_falls_on_real_data(trained):
    _, _, before, after = trained
    assert after < 0.6 * before, (before, after)


@needs_data
def test_beam_one_equals_greedy(trained):
    tr, pairs, _, _ = trained
    lengths = []
    for en, _ in pairs[::20]:
        ids = tr.src_vocab.encode(en)
        greedy = greedy_decode(tr.model, np.asarray([ids]), [len(ids)], 12)[0]
        assert beam_search(tr.model, ids, beam=1, max_len=12) == greedy
        lengths.append(len(greedy))
    assert min(lengths) >= 2, lengths               # real outputs, not an immediate </s>
    assert isinstance(beam_search(tr.model, ids, beam=4, max_len=12), list)


@needs_data
def test_save_load_round_trip_and_cli(trained, tmp_path, capsys):
    from glassnet.cli import main
    tr, pairs, _, _ = trained
    tr.save(tmp_path)
    assert (tmp_path / "weights.safetensors").read_bytes()[:1] != b"\x80"     # not a pickle
    loaded = Translator.load(tmp_path)
    texts = [detokenize(e) for e, _ in pairs[::40]] + ["I am cold."]
    for text in texts:
        for beam in (1, 3):
            assert loaded.translate(text, beam=beam) == tr.translate(text, beam=beam)
    assert main(["translate", str(tmp_path), "I am cold.", "He is tall."]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [tr.translate("I am cold."), tr.translate("He is tall.")]
    assert main(["translate", str(tmp_path / "nope"), "I am cold."]) == 2
    assert "not a translation run directory" in capsys.readouterr().err


def test_shipped_recipe_parses():
    recipe = TranslationRecipe.from_toml(Path(__file__).resolve().parents[2] / "recipes" /
                                         "translation.toml")
    assert recipe.task == "translation" and recipe.beam == 5


@needs_data
def test_glassnet_train_runs_a_translation_recipe(tmp_path, capsys):
    pytest.importorskip("sacrebleu")
    from glassnet.cli import main
    recipe = tmp_path / "mt.toml"
    recipe.write_text(f'task = "translation"\ndata = "{ZIP.as_posix()}"\nlimit = 200\n'
                      f'emb = 8\nhidden = 8\nepochs = 1\nbeam = 2\n')
    with _one_blas_thread():
        assert main(["train", str(recipe), "--out", str(tmp_path / "run")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("translation: ") and "Total params: " in out
    assert out.splitlines()[-1].startswith("translation: test bleu_greedy ")
    for name in ("config.json", "vocab_src.json", "vocab_tgt.json", "weights.safetensors",
                 "results.json", "recipe.toml"):
        assert (tmp_path / "run" / name).is_file(), name
    assert main(["train", str(recipe), "--out", str(tmp_path / "run")]) == 2    # no overwrite
    assert "--overwrite" in capsys.readouterr().err
