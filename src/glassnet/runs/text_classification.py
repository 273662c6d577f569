"""Task ``text_classification``: sentences or short documents to K classes (e.g. sentiment).

Data (:mod:`glassnet.runs.text_data`): a CSV/TSV file with ``text_column`` and
``label_column``, or a folder of one UTF-8 (else latin-1) text file per class, one sample per
non-empty line. Texts are lower-cased and split into word and punctuation tokens; the
vocabulary holds the training tokens seen at least ``min_count`` times (0 = padding,
1 = unknown). A seeded shuffle (``split_seed``) gives train / validation / test
(80/10/10 by default).

Models:

- ``rnn`` (:class:`RNNClassifier`): Embedding → dropout → bidirectional GRU (or LSTM) over
  the valid steps (``lengths``) → max over the valid steps → dropout → Linear to K logits;
  AdamW, cross-entropy.
- ``bow`` (:class:`BagOfWords`): logistic regression on word presence; its weight decay is
  chosen on validation from ``bow_weight_decays``.

Both train through :func:`glassnet.train.fit` on padded batches ``((ids, lengths), labels)``
with :class:`~glassnet.train.EarlyStopping` on validation accuracy (the best epoch's weights
kept). ``model = "auto"`` trains both and keeps the one with the better validation accuracy
(ties go to the bag of words, the simpler model); the run says which and why. The test part
is read once per model, with the kept weights. Baselines in ``run.json``: the majority class
and the bag of words (its test accuracy), on the same test part.

    glassnet train recipes/sentiment.toml --out runs/sentiment
    glassnet predict runs/sentiment reviews.txt            # one sample per line
    glassnet predict runs/sentiment "a gorgeous, witty film"
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from .. import nn, optim
from ..data import DataLoader
from ..io import atomic_write_text, load_weights, save_weights
from ..tensor import Tensor, manual_seed
from ..train import EarlyStopping, evaluate, fit, predict
from .common import header_line, model_table, print_result
from .recipe import TaskRecipe, param
from .registry import Task, register
from .rundir import prepare_run_dir, read_run_json, resolve_data, write_run_json
from .supervised import majority_baseline
from .text_data import (PaddedTexts, Vocabulary, collate_padded, load_labelled_texts,
                        read_text, tokenize)

__all__ = ["TextClassificationRecipe", "RNNClassifier", "BagOfWords",
           "train_text_classification", "load_text_classification_run"]


@dataclasses.dataclass
class TextClassificationRecipe(TaskRecipe):
    """Keys of a ``text_classification`` recipe (``recipes/sentiment.toml``).

    Args:
        data: a CSV/TSV file or a folder of one text file per class.
        text_column, label_column: the columns of a CSV/TSV file.
        model: ``auto`` (rnn and bow, the better on validation), ``rnn`` or ``bow``.
        val_fraction, test_fraction: shares of the seeded split (``split_seed``).
        min_count: training occurrences a token needs to enter the vocabulary.
        max_len: tokens read per text (the rest is cut).
        emb, hidden, cell, emb_dropout, dropout: :class:`RNNClassifier`.
        lr, weight_decay, epochs, patience, batch_size: AdamW and early stopping of the RNN.
        bow_lr, bow_epochs, bow_weight_decays: the bag of words (AdamW; weight decays as a
            comma list, or one number; the best on validation is kept; no early stop, the
            best epoch's weights kept).
        seed: weights, dropout and batch order.
    """

    task: str = "text_classification"
    data: str = param("sentiment/rt-polaritydata", required="a CSV/TSV file or a folder")
    text_column: str = "text"
    label_column: str = "label"
    model: str = param("auto", choices=("auto", "rnn", "bow"))
    val_fraction: float = param(0.1, gt=0, lt=0.5)
    test_fraction: float = param(0.1, gt=0, lt=0.5)
    split_seed: int = param(0, ge=0)
    min_count: int = param(2, ge=1)
    max_len: int = param(60, ge=1)
    emb: int = param(128, ge=1)
    hidden: int = param(32, ge=1)
    cell: str = param("gru", choices=("gru", "lstm"))
    emb_dropout: float = param(0.5, ge=0, lt=1)
    dropout: float = param(0.5, ge=0, lt=1)
    lr: float = param(0.005, gt=0)
    weight_decay: float = param(0.3, ge=0)
    epochs: int = param(20, ge=1)
    patience: int = param(3, ge=1)
    batch_size: int = param(64, ge=1)
    bow_lr: float = param(0.01, gt=0)
    bow_epochs: int = param(10, ge=1)
    bow_weight_decays: str | float = "0,0.01,0.1,0.3,1,3"
    seed: int = param(0, ge=0)

    def check(self, where):
        self.decays(where)

    def decays(self, where="recipe") -> list[float]:
        """``bow_weight_decays`` as numbers."""
        try:
            values = [float(v) for v in str(self.bow_weight_decays).split(",")]
        except ValueError:
            values = []
        if not values or min(values) < 0:
            raise ValueError(f"{where}: bow_weight_decays: expected a comma list of numbers "
                             f">= 0, got {self.bow_weight_decays!r}")
        return values


class RNNClassifier(nn.Module):
    """Embedding → dropout → bidirectional GRU/LSTM → max over valid steps → dropout →
    Linear to ``classes`` logits.

    Args:
        vocab: vocabulary size V (id 0 is padding).
        classes: number of classes K.
        emb, hidden: embedding size E and hidden size H per direction.
        cell: ``"gru"`` or ``"lstm"``.
        emb_dropout, dropout: dropout on the embeddings and on the pooled features.

    Shape:
        inputs ``(ids, lengths)``: ids (N, L) int, lengths (N,) with 1 <= length <= L;
        output (N, K). Steps past a sample's length do not change its output.

    Example:
        >>> m = RNNClassifier(100, 3, emb=8, hidden=4)
        >>> m((gn.tensor(np.array([[5, 6, 0]])), np.array([2]))).shape
        (1, 3)
    """

    def __init__(self, vocab: int, classes: int, emb: int = 128, hidden: int = 32,
                 cell: str = "gru", emb_dropout: float = 0.5, dropout: float = 0.5):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb, padding_idx=0)
        self.rnn = {"gru": nn.GRU, "lstm": nn.LSTM}[cell](emb, hidden, batch_first=True,
                                                          bidirectional=True)
        self.emb_drop, self.drop = nn.Dropout(emb_dropout), nn.Dropout(dropout)
        self.fc = nn.Linear(2 * hidden, classes)

    def forward(self, inputs):
        ids, lengths = inputs
        out, _ = self.rnn(self.emb_drop(self.emb(ids)), lengths=lengths)
        valid = np.arange(ids.shape[1])[None, :] < np.asarray(lengths)[:, None]
        mask = Tensor(np.where(valid, 0.0, -1e4).astype(np.float32)[:, :, None])
        return self.fc(self.drop((out + mask).max(1)[0]))


class BagOfWords(nn.Module):
    """Logistic regression on word presence: Linear(V, K) on a 0/1 vector of the tokens a
    text contains (padding and unknown carry no evidence).

    Shape:
        inputs ``(ids, lengths)``: ids (N, L) int; output (N, K).
    """

    def __init__(self, vocab: int, classes: int):
        super().__init__()
        self.vocab = vocab
        self.fc = nn.Linear(vocab, classes)

    def forward(self, inputs):
        ids = inputs[0]
        ids = ids.numpy() if isinstance(ids, Tensor) else np.asarray(ids)
        x = np.zeros((len(ids), self.vocab), np.float32)
        x[np.repeat(np.arange(len(ids)), ids.shape[1]), ids.reshape(-1)] = 1
        x[:, :2] = 0
        return self.fc(Tensor(x))


def _build(name: str, recipe, vocab: int, classes: int) -> nn.Module:
    if name == "bow":
        return BagOfWords(vocab, classes)
    return RNNClassifier(vocab, classes, recipe.emb, recipe.hidden, recipe.cell,
                         recipe.emb_dropout, recipe.dropout)


def _loader(data: PaddedTexts, batch_size: int, seed=None) -> DataLoader:
    return DataLoader(data, batch_size, shuffle=seed is not None, seed=seed,
                      collate_fn=collate_padded)


def _train(model, recipe, parts, *, lr, weight_decay, epochs, patience, verbose):
    """fit with early stopping on validation accuracy; returns (best val accuracy, best
    epoch, epochs run)."""
    opt = optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    stop = EarlyStopping("val_accuracy", patience=patience, restore_best=True)
    history = fit(model, nn.CrossEntropyLoss(), opt,
                  _loader(parts["train"], recipe.batch_size, recipe.seed),
                  _loader(parts["validation"], 256), epochs=epochs, callbacks=[stop],
                  verbose=verbose)
    return float(stop.best), (stop.best_epoch or 0) + 1, len(history)


def _test(model, data: PaddedTexts) -> dict:
    res = evaluate(model, _loader(data, 256), nn.CrossEntropyLoss())
    return {"accuracy": res["accuracy"], "loss": res["loss"]}


def train_text_classification(recipe: TextClassificationRecipe, run_dir, *, overwrite=False,
                              verbose=True, data_dir=None) -> dict:
    """Read, split, train (bag of words and/or RNN), choose on validation, test once and
    write the run folder (``recipe.toml``, ``vocab.json``, ``weights.safetensors``,
    ``run.json``). Returns the ``run.json`` record."""
    start = time.perf_counter()
    path = resolve_data(recipe.data, data_dir)
    texts, raw_labels, notes = load_labelled_texts(path, recipe.text_column,
                                                   recipe.label_column)
    classes = sorted(set(raw_labels))
    if len(classes) < 2:
        raise ValueError(f"data {path}: expected at least 2 classes, found {classes}")
    index = {c: i for i, c in enumerate(classes)}
    labels = np.array([index[c] for c in raw_labels], np.int64)
    order = np.random.default_rng(recipe.split_seed).permutation(len(texts))
    n_tr = int(len(order) * (1 - recipe.val_fraction - recipe.test_fraction))
    n_va = int(len(order) * (1 - recipe.test_fraction))
    split = {"train": order[:n_tr], "validation": order[n_tr:n_va], "test": order[n_va:]}
    if min(len(v) for v in split.values()) < 1:
        raise ValueError(f"data {path}: {len(texts)} samples are too few to split")
    tokens = [tokenize(t) for t in texts]
    vocab = Vocabulary.build([tokens[i] for i in split["train"]], recipe.min_count)
    encoded = [vocab.encode(t) for t in tokens]
    parts = {k: PaddedTexts([encoded[i] for i in v], labels[v], recipe.max_len)
             for k, v in split.items()}
    run_dir = prepare_run_dir(run_dir, recipe, overwrite=overwrite)
    atomic_write_text(run_dir / "vocab.json", json.dumps({"itos": vocab.itos}))
    if verbose:
        print(header_line("text_classification", path, {
            "train": n_tr, "validation": n_va - n_tr, "test": len(order) - n_va},
            f"texts, {len(classes)} classes {classes}; vocabulary {len(vocab)}"
            + "".join(f"; {n}" for n in notes)))
    fitted = {}
    bow_runs = []
    for wd in recipe.decays():
        manual_seed(recipe.seed)
        model = _build("bow", recipe, len(vocab), len(classes))
        if verbose and not bow_runs:
            print(model_table(model))
        val, best, ran = _train(model, recipe, parts, lr=recipe.bow_lr, weight_decay=wd,
                                epochs=recipe.bow_epochs, patience=recipe.bow_epochs,
                                verbose=False)
        bow_runs.append({"weight_decay": wd, "val_accuracy": val, "best_epoch": best})
        if "bow" not in fitted or val > fitted["bow"]["val_accuracy"]:
            fitted["bow"] = {"model": model, "val_accuracy": val, "best_epoch": best,
                             "epochs_run": ran, "weight_decay": wd}
    if verbose:
        print("bag of words, validation accuracy by weight decay: " + ", ".join(
            f"{r['weight_decay']:g}: {r['val_accuracy']:.4f}" for r in bow_runs))
    if recipe.model != "bow":
        manual_seed(recipe.seed)
        model = _build("rnn", recipe, len(vocab), len(classes))
        if verbose:
            print(model_table(model))
        val, best, ran = _train(model, recipe, parts, lr=recipe.lr,
                                weight_decay=recipe.weight_decay, epochs=recipe.epochs,
                                patience=recipe.patience, verbose=verbose)
        fitted["rnn"] = {"model": model, "val_accuracy": val, "best_epoch": best,
                         "epochs_run": ran, "weight_decay": recipe.weight_decay}
    if recipe.model == "auto":
        chosen = "rnn" if fitted["rnn"]["val_accuracy"] > fitted["bow"]["val_accuracy"] \
            else "bow"
        why = (f"validation accuracy rnn {fitted['rnn']['val_accuracy']:.4f} vs bow "
               f"{fitted['bow']['val_accuracy']:.4f}; the higher is kept (a tie keeps bow)")
    else:
        chosen, why = recipe.model, f"model = {recipe.model!r} in the recipe"
    tests = {name: _test(f["model"], parts["test"]) for name, f in fitted.items()}
    save_weights(fitted[chosen]["model"], run_dir / "weights.safetensors")
    majority = majority_baseline(labels[split["train"]], labels[split["test"]])
    record = {"task": "text_classification", "data": str(path), "notes": notes,
              "classes": classes, "chosen": chosen, "why": why,
              "test": tests[chosen],
              "baselines": {"majority_class": {"accuracy": majority["accuracy"],
                                               "class": classes[majority["class"]]},
                            "bag_of_words": {"accuracy": tests["bow"]["accuracy"]}},
              "validation": {n: {"accuracy": f["val_accuracy"], "best_epoch": f["best_epoch"],
                                 "epochs_run": f["epochs_run"],
                                 "weight_decay": f["weight_decay"]}
                             for n, f in fitted.items()},
              "test_by_model": {n: t["accuracy"] for n, t in tests.items()},
              "bow_weight_decay_search": bow_runs, "vocabulary": len(vocab),
              "sizes": {k: int(len(v)) for k, v in split.items()},
              "train_seconds": round(time.perf_counter() - start, 1)}
    write_run_json(run_dir, record)
    if verbose:
        print_result("text_classification", record["test"], record["baselines"], run_dir,
                     f"chosen {chosen} ({why})")
    return record


def load_text_classification_run(run_dir):
    """``(model, vocabulary, classes, recipe)`` of a finished run, the model in eval mode."""
    run_dir = Path(run_dir)
    run = read_run_json(run_dir)
    recipe = TextClassificationRecipe.from_toml(run_dir / "recipe.toml")
    vocab = Vocabulary(json.loads((run_dir / "vocab.json").read_text(encoding="utf-8"))["itos"])
    model = _build(run["chosen"], recipe, len(vocab), len(run["classes"]))
    load_weights(model, run_dir / "weights.safetensors")
    return model.eval(), vocab, run["classes"], recipe


def _predict_cli(run_dir, args) -> str:
    """``glassnet predict RUN FILE``: one JSON line per non-empty line of FILE (or for the
    text FILE itself when no such file exists): the class and its probability."""
    given = getattr(args, "file", None)
    if not given:
        raise ValueError("predict: give a text file (one sample per line) or a quoted text")
    if Path(given).is_file():
        lines = [line.strip() for line in read_text(Path(given))[0].splitlines()]
    else:
        lines = [given.strip()]
    samples = [(i, line) for i, line in enumerate(lines, start=1) if line]
    if not samples:
        raise ValueError(f"predict: {given}: no text to classify")
    model, vocab, classes, recipe = load_text_classification_run(run_dir)
    data = PaddedTexts([vocab.encode(tokenize(t)) for _, t in samples],
                       np.zeros(len(samples), np.int64), recipe.max_len)
    logits = predict(model, _loader(data, 256)).astype(np.float64)
    prob = np.exp(logits - logits.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    return "\n".join(json.dumps({"line": i, "class": classes[int(p.argmax())],
                                 "p": round(float(p.max()), 4)})
                     for (i, _), p in zip(samples, prob))


register(Task(name="text_classification", summary="texts to classes (e.g. sentiment): a "
              "BiGRU with max pooling vs bag-of-words logistic regression, chosen on "
              "validation", recipe=TextClassificationRecipe, train=train_text_classification,
              predict=_predict_cli,
              formats="a CSV/TSV file with text_column and label_column, or a folder of one "
                      "UTF-8 (else latin-1) text file per class, one sample per line"))
