"""Character-level LSTM language model on Tiny Shakespeare, with sampling.

    python examples/char_lstm.py --minutes 30 --out runs/char_lstm          # train
    python examples/char_lstm.py --generate runs/char_lstm --prompt "ROMEO:" \\
        --length 500 --temperature 0.8 --top-k 20 --seed 1                # sample

Data: ``<data-dir>/tinyshakespeare/input.txt`` (``--data-dir``, else $GLASSNET_DATA, else the
repository's sibling ``shared/data``). The last 10% of the text is a held-out validation split;
the script reports validation loss in nats per character. Training is truncated BPTT: the text
is cut into ``--batch`` parallel streams, each step reads the next ``--seq`` characters of every
stream and starts from the previous step's final state, detached. Gradients are clipped to norm
``--clip``.
"""
import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np

import glassnet as gn
from glassnet import nn
from glassnet.io import load_weights, save_weights


def data_dir(arg):
    if arg:
        return Path(arg)
    if os.environ.get("GLASSNET_DATA"):
        return Path(os.environ["GLASSNET_DATA"])
    return Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


class CharLSTM(nn.Module):
    """Embedding → LSTM (num_layers) → Linear to the vocabulary, at every step."""

    def __init__(self, vocab, emb=64, hidden=512, layers=2, dropout=0.0):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=layers, batch_first=True, dropout=dropout)
        self.fc = nn.Linear(hidden, vocab)

    def forward(self, ids, state=None):
        out, state = self.lstm(self.emb(ids), state)
        return self.fc(out), state


def streams(ids, batch):
    """Cut a 1-D id array into ``batch`` equal contiguous streams: (batch, T)."""
    T = len(ids) // batch
    return ids[:T * batch].reshape(batch, T)


@gn.no_grad()
def evaluate(model, ids, batch=32, seq=256):
    """Mean cross-entropy in nats per character over ``ids`` (state carried across chunks)."""
    model.eval()
    S = streams(ids, batch)
    total, count, state = 0.0, 0, None
    for s in range(0, S.shape[1] - 1, seq):
        x, y = S[:, s:s + seq], S[:, s + 1:s + seq + 1]
        x = x[:, :y.shape[1]]
        logits, state = model(gn.tensor(x), state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                           gn.tensor(y.reshape(-1)), reduction="sum")
        total, count = total + loss.item(), count + y.size
    model.train()
    return total / count


@gn.no_grad()
def sample(model, stoi, itos, prompt, length, temperature=1.0, top_k=None, seed=0):
    """Continue ``prompt`` by ``length`` characters drawn from softmax(logits / temperature)."""
    model.eval()
    rng = np.random.default_rng(seed)
    ids = [stoi[c] for c in prompt if c in stoi] or [0]
    logits, state = model(gn.tensor(np.array([ids])))
    out = []
    for _ in range(length):
        z = logits.numpy()[0, -1].astype(np.float64) / max(temperature, 1e-6)
        if top_k:
            z[z < np.sort(z)[-top_k]] = -np.inf
        p = np.exp(z - z.max())
        nxt = int(rng.choice(len(p), p=p / p.sum()))
        out.append(itos[nxt])
        logits, state = model(gn.tensor(np.array([[nxt]])), state)
    return prompt + "".join(out)


def train(args):
    text = (data_dir(args.data_dir) / "tinyshakespeare" / "input.txt").read_text()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = np.array([stoi[c] for c in text], dtype=np.int64)
    split = int(len(ids) * 0.9)
    train_ids, val_ids = ids[:split], ids[split:]
    gn.manual_seed(args.seed)
    cfg = dict(vocab=len(chars), emb=args.emb, hidden=args.hidden, layers=args.layers,
               dropout=args.dropout)
    model = CharLSTM(**cfg)
    opt = gn.optim.Adam(model.parameters(), lr=args.lr)
    S = streams(train_ids, args.batch)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps({"model": cfg, "chars": "".join(chars)}))
    print(f"{len(train_ids)} train / {len(val_ids)} val chars, vocab {len(chars)}, "
          f"{model.num_parameters()} parameters")
    start, step, state, pos, best = time.perf_counter(), 0, None, 0, math.inf
    log = []
    while True:
        if pos + args.seq + 1 > S.shape[1]:
            pos, state = 0, None                           # next epoch: restart the streams
        x, y = S[:, pos:pos + args.seq], S[:, pos + 1:pos + args.seq + 1]
        pos += args.seq
        logits, state = model(gn.tensor(x), state)
        state = tuple(s.detach() for s in state)           # truncated BPTT
        loss = nn.functional.cross_entropy(logits.reshape(-1, len(chars)),
                                           gn.tensor(y.reshape(-1)))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        opt.step()
        step += 1
        elapsed = time.perf_counter() - start
        done = elapsed > args.minutes * 60 or (args.steps and step >= args.steps)
        if step % args.eval_every == 0 or done:
            val = evaluate(model, val_ids[:args.val_chars] if args.val_chars else val_ids)
            log.append({"step": step, "seconds": round(elapsed, 1),
                        "train_loss": round(loss.item(), 4), "val_nats_per_char": round(val, 4)})
            print(json.dumps(log[-1]), flush=True)
            if val < best:
                best = val
                save_weights(model, out / "weights.safetensors")
        if done:
            break
    (out / "log.json").write_text(json.dumps(log, indent=1))
    load_weights(model, out / "weights.safetensors")
    full = evaluate(model, val_ids)
    print(f"best checkpoint: validation {full:.4f} nats/char on all {len(val_ids)} held-out "
          f"chars after {step} steps, {time.perf_counter() - start:.0f} s")
    print(sample(model, stoi, chars, "ROMEO:", 300, 0.8, 20, seed=args.seed))


def generate(args):
    run = Path(args.generate)
    cfg = json.loads((run / "config.json").read_text())
    chars = cfg["chars"]
    model = CharLSTM(**cfg["model"])
    load_weights(model, run / "weights.safetensors")
    print(sample(model, {c: i for i, c in enumerate(chars)}, chars, args.prompt, args.length,
                 args.temperature, args.top_k, args.seed))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default="runs/char_lstm")
    ap.add_argument("--minutes", type=float, default=30.0, help="training time budget")
    ap.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: no)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=100)
    ap.add_argument("--emb", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--val-chars", type=int, default=30000,
                    help="validation chars used for the periodic check (the final one uses all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--generate", metavar="RUN_DIR", help="sample from a trained run instead")
    ap.add_argument("--prompt", default="ROMEO:")
    ap.add_argument("--length", type=int, default=500)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--top-k", type=int, default=None)
    args = ap.parse_args()
    generate(args) if args.generate else train(args)


if __name__ == "__main__":
    main()
