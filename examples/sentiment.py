"""Sentence polarity (Pang & Lee, movie reviews): embedding + bidirectional GRU/LSTM classifier,
against a bag-of-words logistic regression, both trained with glassnet.

    python examples/sentiment.py --out runs/sentiment

Data: ``<data-dir>/sentiment/rt-polaritydata/rt-polarity.{pos,neg}`` (5,331 sentences each,
already lower-cased and tokenised, punctuation split off: the tokenizer is a whitespace split).
A fixed shuffle (``--split-seed``) gives 80% train, 10% validation, 10% test. The vocabulary
holds the training tokens seen at least twice (0 = padding, 1 = unknown). Sentences are padded
to the longest in their batch and the true lengths go to the RNN (``lengths=``); the classifier
reads the max (and mean) of the outputs over the valid steps only.

Honest protocol: every choice (epochs via early stopping on validation accuracy with the best
weights kept, the baseline's weight decay from ``--bow-weight-decay``, the RNN settings swept
with ``--no-test``, which never evaluates the test part) is made on the validation part; the
test part is evaluated once per model, with the chosen weights.
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


class RNNClassifier(nn.Module):
    """Embedding → dropout → BiLSTM/BiGRU → pooling over time → dropout → Linear → 1 logit.

    ``pool="last"`` reads the final states [h_forward, h_backward]; ``"max"`` takes the
    element-wise max of the outputs over the valid steps (padding masked out); ``"maxmean"``
    concatenates that max with the mean over the valid steps.
    """

    def __init__(self, vocab, emb=64, hidden=64, cell="lstm", pool="last", emb_drop=0.3,
                 drop=0.3, emb_std=1.0):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb, padding_idx=0)
        if emb_std != 1.0:                           # N(0, 1) by default, like PyTorch
            with gn.no_grad():
                self.emb.weight.data[1:] *= emb_std
        rnn = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
        self.rnn = rnn(emb, hidden, batch_first=True, bidirectional=True)
        self.pool, self.cell = pool, cell
        self.emb_drop, self.drop = nn.Dropout(emb_drop), nn.Dropout(drop)
        self.fc = nn.Linear((4 if pool == "maxmean" else 2) * hidden, 1)

    def forward(self, ids, lengths):
        out, h = self.rnn(self.emb_drop(self.emb(ids)), lengths=lengths)
        if self.pool == "last":
            h = h[0] if self.cell == "lstm" else h
            feats = gn.cat([h[0], h[1]], 1)
        else:                                        # outputs past each length are zero
            valid = np.arange(ids.shape[1])[None, :] < np.asarray(lengths)[:, None]
            neg = gn.tensor(np.where(valid, 0.0, -1e4).astype(np.float32)[:, :, None])
            feats = (out + neg).max(1)[0]
            if self.pool == "maxmean":
                n = gn.tensor(np.asarray(lengths, np.float32)[:, None])
                feats = gn.cat([feats, out.sum(1) / n], 1)
        return self.fc(self.drop(feats)).reshape(-1)


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
    """Accuracy of one model, or of a list of models averaging their logits (an ensemble)."""
    models = model if isinstance(model, list) else [model]
    for m in models:
        m.eval()
    hits = 0
    for ids, lens, y in batches(seqs, labels, 256):
        logit = sum(m(ids, lens).numpy() for m in models) / len(models)
        hits += int(((logit > 0) == (y.numpy() > 0.5)).sum())
    for m in models:
        m.train()
    return hits / len(seqs)


def fit(model, train, val, test, epochs, lr, seed, name, weight_decay=0.0, patience=3):
    """AdamW; early stopping on validation accuracy, keeping the best weights. ``test=None``
    (model selection runs) never touches the test part; otherwise it is evaluated once, with
    the best-validation weights."""
    opt = gn.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    rng = np.random.default_rng(seed)
    best, state, start = (-1.0, 0), None, time.perf_counter()
    for epoch in range(1, epochs + 1):
        for ids, lens, y in batches(*train, 64, rng):
            loss = nn.functional.binary_cross_entropy_with_logits(model(ids, lens), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        val_acc = accuracy(model, *val)
        if val_acc > best[0]:
            best, state = (val_acc, epoch), {k: v.copy() for k, v in model.state_dict().items()}
        print(f"{name} epoch {epoch}: loss {loss.item():.3f}, val acc {val_acc:.4f}", flush=True)
        if epoch - best[1] >= patience:
            break
    model.load_state_dict(state)
    return {"model": name, "val_accuracy": round(best[0], 4),
            "test_accuracy": None if test is None else round(accuracy(model, *test), 4),
            "best_epoch": best[1], "seconds": round(time.perf_counter() - start, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--epochs", type=int, default=20, help="max epochs (early stopping)")
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--bow-epochs", type=int, default=10)
    ap.add_argument("--bow-weight-decay", default="0,0.01,0.1,0.3,1,3",
                    help="comma list, the best on validation is tested")
    ap.add_argument("--cell", choices=["lstm", "gru"], default="gru")
    ap.add_argument("--pool", choices=["last", "max", "maxmean"], default="max")
    ap.add_argument("--emb", type=int, default=128)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--emb-std", type=float, default=1.0, help="embedding init std")
    ap.add_argument("--emb-dropout", type=float, default=0.5)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--lr", type=float, default=5e-3)
    ap.add_argument("--weight-decay", type=float, default=0.3)
    ap.add_argument("--ensemble", type=int, default=1,
                    help="also train seeds seed+1.. and report the logit-averaged ensemble")
    ap.add_argument("--only", choices=["bow", "rnn"], default=None)
    ap.add_argument("--no-test", action="store_true",
                    help="model selection: report validation only, never evaluate the test part")
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
    test = None if args.no_test else split["test"]
    if args.only != "rnn":
        runs = []
        for wd in [float(w) for w in args.bow_weight_decay.split(",")]:
            gn.manual_seed(args.seed)
            model = BagOfWords(len(itos))
            r = fit(model, split["train"], split["val"], None, args.bow_epochs, 1e-2, args.seed,
                    f"bag-of-words logistic regression (weight decay {wd})", wd, args.bow_epochs)
            runs.append((r["val_accuracy"], r, model))
        _, r, model = max(runs, key=lambda t: t[0])         # chosen on validation only
        if test is not None:
            r["test_accuracy"] = round(accuracy(model, *test), 4)
        results.append(r)
    if args.only != "bow":
        gn.manual_seed(args.seed)
        model = RNNClassifier(len(itos), args.emb, args.hidden, args.cell, args.pool,
                              args.emb_dropout, args.dropout, args.emb_std)
        name = (f"embedding({args.emb}, std {args.emb_std}) + "
                f"Bi{args.cell.upper()}({args.hidden}), {args.pool} pool, "
                f"dropout {args.emb_dropout}/{args.dropout}, weight decay {args.weight_decay}")
        results.append(fit(model, split["train"], split["val"], test, args.epochs, args.lr,
                           args.seed, name, args.weight_decay, args.patience))
        members = [model]
        for seed in range(args.seed + 1, args.seed + args.ensemble):
            gn.manual_seed(seed)
            members.append(RNNClassifier(len(itos), args.emb, args.hidden, args.cell, args.pool,
                                         args.emb_dropout, args.dropout, args.emb_std))
            results.append(fit(members[-1], split["train"], split["val"], test, args.epochs,
                               args.lr, seed, f"{name} (seed {seed})", args.weight_decay,
                               args.patience))
        if len(members) > 1:
            results.append({"model": f"ensemble of {len(members)}: {name}",
                            "val_accuracy": round(accuracy(members, *split["val"]), 4),
                            "test_accuracy": None if test is None
                            else round(accuracy(members, *test), 4)})
    for r in results:
        print(json.dumps(r))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
