"""Sentence polarity (Pang & Lee, movie reviews): embedding + bidirectional LSTM classifier,
against a bag-of-words logistic regression, both trained with glassnet.

    python examples/sentiment.py --epochs 6 --out runs/sentiment

Data: ``<data-dir>/sentiment/rt-polaritydata/rt-polarity.{pos,neg}`` (5,331 sentences each,
already lower-cased and tokenised: the tokenizer is a whitespace split). A fixed shuffle
(``--split-seed``) gives 80% train, 10% validation, 10% test. The vocabulary holds the training
tokens seen at least twice (0 = padding, 1 = unknown). Sentences are padded to the longest in
their batch and the true lengths go to the LSTM (``lengths=``), so padding never reaches the
final states that the classifier reads. The epoch with the best validation accuracy is the one
evaluated on the test part.
"""
import argparse
import json
import os
import time
from collections import Counter
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import nn


def data_dir(arg):
    if arg:
        return Path(arg)
    if os.environ.get("GLASSNET_DATA"):
        return Path(os.environ["GLASSNET_DATA"])
    return Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


def read(path):
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    return [line.split() for line in text.splitlines() if line.strip()]


class LSTMClassifier(nn.Module):
    """Embedding → BiLSTM → [h_forward, h_backward] → Linear → one logit."""

    def __init__(self, vocab, emb=64, hidden=64):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb, padding_idx=0)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True, bidirectional=True)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(2 * hidden, 1)

    def forward(self, ids, lengths):
        _, (h, _) = self.lstm(self.drop(self.emb(ids)), lengths=lengths)
        return self.fc(self.drop(gn.cat([h[0], h[1]], 1))).reshape(-1)


class BagOfWords(nn.Module):
    """Logistic regression on binary word-presence vectors (the baseline)."""

    def __init__(self, vocab):
        super().__init__()
        self.vocab = vocab
        self.fc = nn.Linear(vocab, 1)

    def forward(self, ids, lengths):
        x = np.zeros((len(ids), self.vocab), np.float32)
        rows = np.repeat(np.arange(len(ids)), ids.shape[1])
        x[rows, ids.data.reshape(-1)] = 1
        x[:, :2] = 0                                 # padding and unknown carry no evidence
        return self.fc(gn.tensor(x)).reshape(-1)


def batches(seqs, labels, size, rng=None, max_len=60):
    order = rng.permutation(len(seqs)) if rng is not None else np.arange(len(seqs))
    for i in range(0, len(order), size):
        idx = order[i:i + size]
        lens = np.array([min(max(len(seqs[j]), 1), max_len) for j in idx])
        ids = np.zeros((len(idx), lens.max()), np.int64)
        for r, j in enumerate(idx):
            ids[r, :lens[r]] = seqs[j][:lens[r]]
        yield gn.tensor(ids), lens, gn.tensor(labels[idx].astype(np.float32))


@gn.no_grad()
def accuracy(model, seqs, labels):
    model.eval()
    hits = 0
    for ids, lens, y in batches(seqs, labels, 256):
        hits += int(((model(ids, lens).numpy() > 0) == (y.numpy() > 0.5)).sum())
    model.train()
    return hits / len(seqs)


def fit(model, train, val, test, epochs, lr, seed, name):
    opt = gn.optim.Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    best, start = (-1.0, 0.0, 0), time.perf_counter()
    for epoch in range(1, epochs + 1):
        for ids, lens, y in batches(*train, 64, rng):
            loss = nn.functional.binary_cross_entropy_with_logits(model(ids, lens), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        val_acc = accuracy(model, *val)
        if val_acc > best[0]:
            best = (val_acc, accuracy(model, *test), epoch)
        print(f"{name} epoch {epoch}: loss {loss.item():.3f}, val acc {val_acc:.4f}", flush=True)
    return {"model": name, "val_accuracy": round(best[0], 4), "test_accuracy": round(best[1], 4),
            "best_epoch": best[2], "seconds": round(time.perf_counter() - start, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--bow-epochs", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split-seed", type=int, default=0)
    ap.add_argument("--out", default="runs/sentiment")
    args = ap.parse_args()
    root = data_dir(args.data_dir) / "sentiment" / "rt-polaritydata"
    pos, neg = read(root / "rt-polarity.pos"), read(root / "rt-polarity.neg")
    sents = pos + neg
    labels = np.array([1] * len(pos) + [0] * len(neg))
    order = np.random.default_rng(args.split_seed).permutation(len(sents))
    n_tr, n_va = int(0.8 * len(order)), int(0.9 * len(order))
    parts = {"train": order[:n_tr], "val": order[n_tr:n_va], "test": order[n_va:]}
    counts = Counter(w for i in parts["train"] for w in sents[i])
    itos = ["<pad>", "<unk>"] + sorted(w for w, c in counts.items() if c >= 2)
    stoi = {w: i for i, w in enumerate(itos)}
    encoded = [[stoi.get(w, 1) for w in s] for s in sents]
    split = {k: ([encoded[i] for i in v], labels[v]) for k, v in parts.items()}
    print(f"{len(sents)} sentences; train/val/test {n_tr}/{n_va - n_tr}/{len(order) - n_va}; "
          f"vocabulary {len(itos)}")
    results = []
    gn.manual_seed(args.seed)
    results.append(fit(BagOfWords(len(itos)), split["train"], split["val"], split["test"],
                       args.bow_epochs, 1e-2, args.seed, "bag-of-words logistic regression"))
    gn.manual_seed(args.seed)
    results.append(fit(LSTMClassifier(len(itos)), split["train"], split["val"], split["test"],
                       args.epochs, 2e-3, args.seed, "embedding + BiLSTM"))
    for r in results:
        print(json.dumps(r))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
