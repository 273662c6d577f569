"""Task ``text_classification``: readers (CSV/TSV, one file per class, latin-1 fallback, errors
naming file and line), tokenizer, the pooled BiGRU and bag-of-words models, fit with early
stopping, choice on validation, baselines, predict."""
import json

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.cli import main
from glassnet.runs.text_classification import (BagOfWords, RNNClassifier,
                                               TextClassificationRecipe,
                                               train_text_classification)
from glassnet.runs.text_data import collate_padded, load_labelled_texts, tokenize

FILLER = "the a film movie story plot actor scene was is very quite rather".split()
KEYS = {"pos": ["great", "superb"], "neg": ["awful", "boring"], "meh": ["fine", "okay"]}


def keyword_rows(n=450, seed=0):
    """Texts of filler words with one keyword that gives the class."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        c = list(KEYS)[i % 3]
        words = list(rng.choice(FILLER, rng.integers(3, 9)))
        words.insert(int(rng.integers(0, len(words) + 1)), str(rng.choice(KEYS[c])))
        rows.append((" ".join(words).capitalize() + ".", c))
    return rows


def small(data, **kw):
    keys = dict(data=str(data), emb=16, hidden=8, epochs=8, emb_dropout=0.1, dropout=0.1,
                lr=0.02, bow_weight_decays="0,0.1", bow_epochs=20, bow_lr=0.05)
    keys.update(kw)
    return TextClassificationRecipe(**keys)


def test_tokenizer_lowercases_and_splits_words_from_punctuation():
    assert tokenize("Don't panic -- it's co-written, NOT bad!") == [
        "don't", "panic", "-", "-", "it's", "co-written", ",", "not", "bad", "!"]


def test_keyword_task_from_a_csv_beats_the_majority_class(tmp_path):
    data = tmp_path / "reviews.csv"
    data.write_text("label,text\n" + "\n".join(f'{c},"{t}"' for t, c in keyword_rows()) + "\n")
    rec = train_text_classification(small(data), tmp_path / "run", verbose=False)
    assert rec["task"] == "text_classification" and rec["classes"] == ["meh", "neg", "pos"]
    assert rec["test"]["accuracy"] > 0.9
    assert rec["baselines"]["majority_class"]["accuracy"] < 0.45
    assert rec["baselines"]["bag_of_words"]["accuracy"] == rec["test_by_model"]["bow"]
    val = rec["validation"]
    best = max(val, key=lambda n: (val[n]["accuracy"], n == "bow"))
    assert rec["chosen"] == best and "validation accuracy" in rec["why"]
    bow_best = max(r["val_accuracy"] for r in rec["bow_weight_decay_search"])
    assert val["bow"]["accuracy"] == bow_best                    # weight decay on validation
    assert rec["test"] == json.loads((tmp_path / "run" / "run.json").read_text())["test"]


def test_word_order_task_is_won_by_the_rnn_and_auto_keeps_it(tmp_path):
    """Both classes hold the same words; only their order tells them apart, so the bag of
    words stays near chance and "auto" must keep the RNN."""
    rng = np.random.default_rng(1)
    lines = {"ab": [], "ba": []}
    for i in range(500):
        words = list(rng.choice(FILLER[:6], 3))
        first, second = ("good", "bad") if i % 2 == 0 else ("bad", "good")
        words[1:1] = [first, "then", second]
        lines["ab" if i % 2 == 0 else "ba"].append(" ".join(words))
    folder = tmp_path / "order"
    folder.mkdir()
    for name, texts in lines.items():
        (folder / f"{name}.txt").write_text("\n".join(texts) + "\n\n")
    rec = train_text_classification(small(folder, epochs=25, patience=6, lr=0.03, hidden=12),
                                    tmp_path / "run", verbose=False)
    assert rec["classes"] == ["ab", "ba"] and rec["sizes"]["train"] == 400
    assert rec["validation"]["bow"]["accuracy"] < 0.7
    assert rec["chosen"] == "rnn" and rec["test"]["accuracy"] > 0.9


def test_folder_of_latin1_files_named_by_suffix(tmp_path):
    folder = tmp_path / "polarity"
    folder.mkdir()
    (folder / "rt-polarity.pos").write_bytes("a na\xefve , charming film\nsuperb\n".encode(
        "latin-1"))
    (folder / "rt-polarity.neg").write_text("dull\n\nboring and long\n", encoding="utf-8")
    texts, labels, notes = load_labelled_texts(folder)
    assert labels == ["neg", "neg", "pos", "pos"]
    assert texts[2] == "a na\xefve , charming film"
    assert notes == ["rt-polarity.pos: not UTF-8, read as latin-1"]


def test_reader_errors_name_the_file_and_line(tmp_path):
    bad = tmp_path / "d.tsv"
    bad.write_text("text\tlabel\ngood film\tpos\nno label here\n")
    with pytest.raises(ValueError, match=r"d.tsv:3: expected 2 fields"):
        load_labelled_texts(bad)
    bad.write_text("text\tlabel\ngood film\t\n")
    with pytest.raises(ValueError, match=r"d.tsv:2: empty 'label'"):
        load_labelled_texts(bad)
    bad.write_text("review\tlabel\ngood\tpos\n")
    with pytest.raises(ValueError, match=r"d.tsv:1: text_column 'text' is not in the header"):
        load_labelled_texts(bad)
    sniffed = tmp_path / "d.txt"
    sniffed.write_text("text;label\ngood;pos\nbad;neg\n")
    texts, labels, notes = load_labelled_texts(sniffed)
    assert labels == ["pos", "neg"] and "sniffed" in notes[0]
    one = tmp_path / "one"
    one.mkdir()
    (one / "pos.txt").write_text("good\n")
    with pytest.raises(ValueError, match="one text file per class"):
        load_labelled_texts(one)


def test_padding_does_not_change_the_rnn_output():
    gn.manual_seed(0)
    model = RNNClassifier(20, 3, emb=8, hidden=5).eval()
    seqs = [[3, 4, 5], [6, 7, 8, 9, 10, 11]]
    alone = [model(collate_padded([(s, 0)])[0]).numpy()[0] for s in seqs]
    (ids, lengths), _ = collate_padded([(s, 0) for s in seqs])
    assert ids.shape == (2, 6) and list(lengths) == [3, 6]
    np.testing.assert_allclose(model((ids, lengths)).numpy(), alone, rtol=1e-5, atol=1e-6)


def test_rnn_classifier_matches_torch_values_and_gradients():
    """Same weights in torch: Embedding → GRU(bidirectional) → masked max → Linear."""
    gn.manual_seed(0)
    model = RNNClassifier(15, 3, emb=6, hidden=4, emb_dropout=0.0, dropout=0.0)
    (ids, lengths), y = collate_padded([([3, 4, 5], 2), ([6, 7, 8, 9, 10], 0), ([11], 1)])
    loss = gn.nn.CrossEntropyLoss()(model((ids, lengths)), y)
    loss.backward()
    sd = {k: torch.tensor(v) for k, v in model.state_dict().items()}
    emb = torch.nn.Embedding(15, 6, padding_idx=0)
    gru = torch.nn.GRU(6, 4, batch_first=True, bidirectional=True)
    fc = torch.nn.Linear(8, 3)
    emb.load_state_dict({"weight": sd["emb.weight"]})
    gru.load_state_dict({k[4:]: v for k, v in sd.items() if k.startswith("rnn.")})
    fc.load_state_dict({k[3:]: v for k, v in sd.items() if k.startswith("fc.")})
    x = torch.tensor(ids.numpy())
    packed = torch.nn.utils.rnn.pack_padded_sequence(emb(x), torch.tensor(lengths),
                                                     batch_first=True, enforce_sorted=False)
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(gru(packed)[0], batch_first=True,
                                                    padding_value=-1e4)
    logits = fc(out.max(1)[0])
    ref = torch.nn.functional.cross_entropy(logits, torch.tensor(y.numpy()))
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    np.testing.assert_allclose(model.fc.weight.grad.numpy(), fc.weight.grad.numpy(),
                               rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(model.emb.weight.grad.numpy(), emb.weight.grad.numpy(),
                               rtol=1e-4, atol=1e-6)


def test_bag_of_words_is_logistic_regression_on_word_presence():
    gn.manual_seed(0)
    model = BagOfWords(6, 2)
    (ids, lengths), _ = collate_padded([([2, 3, 3], 0), ([1, 5], 1)])
    presence = np.array([[0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 0, 1]], np.float32)
    want = presence @ model.fc.weight.numpy().T + model.fc.bias.numpy()
    np.testing.assert_allclose(model((ids, lengths)).numpy(), want, rtol=1e-6)


def test_cli_train_predict_and_recipe_errors(tmp_path, capsys):
    data = tmp_path / "r.csv"
    data.write_text("text,label\n" + "\n".join(f'"{t}",{c}' for t, c in keyword_rows(300)))
    recipe = tmp_path / "t.toml"
    recipe.write_text(small(data, model="bow").to_toml())
    assert main(["train", str(recipe), "--out", str(tmp_path / "run"), "--quiet"]) == 0
    rec = json.loads((tmp_path / "run" / "run.json").read_text())
    assert rec["chosen"] == "bow" and "rnn" not in rec["validation"]
    texts = tmp_path / "new.txt"
    texts.write_text("A superb film.\n\nthe plot was awful\n")
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "run"), str(texts)]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(o["line"], o["class"]) for o in out] == [(1, "pos"), (3, "neg")]
    assert main(["predict", str(tmp_path / "run"), "quite okay"]) == 0
    assert json.loads(capsys.readouterr().out)["class"] == "meh"
    assert main(["train", str(recipe), "--set", "model=cnn", "--quiet"]) == 2
    assert "model: expected one of auto, rnn, bow, got 'cnn'" in capsys.readouterr().err
    assert main(["train", str(recipe), "--set", "bow_weight_decays=a,b", "--quiet"]) == 2
    assert "bow_weight_decays: expected a comma list" in capsys.readouterr().err


def test_the_example_is_a_thin_wrapper_over_the_task(tmp_path, monkeypatch):
    import runpy
    import sys
    from pathlib import Path
    data = tmp_path / "r.csv"
    data.write_text("text,label\n" + "\n".join(f'"{t}",{c}' for t, c in keyword_rows(150)))
    example = Path(__file__).resolve().parents[2] / "examples" / "sentiment.py"
    sets = [f"data={json.dumps(str(data))}", "model=bow", "bow_epochs=2",
            "bow_weight_decays=0"]
    monkeypatch.setattr(sys, "argv", ["sentiment.py", "--out", str(tmp_path / "run"),
                                      *[a for s in sets for a in ("--set", s)]])
    runpy.run_path(str(example), run_name="__main__")
    rec = json.loads((tmp_path / "run" / "run.json").read_text())
    assert rec["task"] == "text_classification" and rec["data"] == str(data)
