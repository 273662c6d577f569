r"""Character-level language modelling on Tiny Shakespeare: a char-LSTM, its training by
truncated backpropagation through time, and sampling.

Model (:class:`CharLSTM`): Embedding(V, E) → LSTM(E, H, num_layers) → Linear(H, V) at every
step, V the number of distinct characters.

Training (:func:`train_text`): the last ``val_fraction`` of the text is held out. The training
text is cut into ``batch_size`` contiguous streams; each step reads the next ``seq``
characters of every stream, starting from the previous step's final state, detached
(truncated BPTT). Adam, gradient norm clipped to ``clip``. Validation is the mean
cross-entropy in nats per character, the state carried across chunks.

A run folder holds ``recipe.toml``, ``vocab.json`` (the characters, id = position),
``weights.safetensors`` (the best validation checkpoint, :mod:`glassnet.io`; no pickle),
``metrics.jsonl`` and ``run.json``.

    glassnet train recipes/char_lstm.toml --out runs/char_lstm
    glassnet generate runs/char_lstm --prompt "ROMEO:" --length 500 --temperature 0.8 --seed 0
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np

from .. import nn, optim
from ..io import load_weights, save_weights
from ..tensor import Tensor, manual_seed, no_grad
from ._run import check_fields, cli_train, data_root, prepare_run_dir, read_json, \
    read_recipe, write_json

__all__ = ["CharLSTM", "TextRecipe", "load_text", "streams", "evaluate_text", "sample",
           "train_text", "load_text_run", "generate", "cmd_train", "cmd_generate"]


class CharLSTM(nn.Module):
    """Embedding → LSTM → Linear to the vocabulary, at every step.

    Args:
        vocab: number of characters V.
        emb: embedding size E.
        hidden: LSTM hidden size H.
        layers: stacked LSTM layers.
        dropout: dropout between LSTM layers (``layers > 1``).

    Shape:
        ids: (N, L) int; output: logits (N, L, V) and the LSTM state ``(h, c)``, each
        (layers, N, H).

    Example:
        >>> m = CharLSTM(65, hidden=32)
        >>> logits, (h, c) = m(np.zeros((2, 5), np.int64))
        >>> logits.shape, h.shape
        ((2, 5, 65), (1, 2, 32))
    """

    def __init__(self, vocab: int, emb: int = 64, hidden: int = 512, layers: int = 1,
                 dropout: float = 0.0):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, num_layers=layers, batch_first=True, dropout=dropout)
        self.fc = nn.Linear(hidden, vocab)

    def forward(self, ids, state=None):
        ids = ids if isinstance(ids, Tensor) else Tensor(np.asarray(ids, np.int64))
        out, state = self.lstm(self.emb(ids), state)
        return self.fc(out), state


@dataclasses.dataclass
class TextRecipe:
    """Keys of ``recipes/char_lstm.toml``.

    Args:
        task: ``"text"`` (tells ``glassnet train`` which app reads the recipe).
        emb, hidden, layers, dropout: :class:`CharLSTM` sizes.
        batch_size, seq: parallel streams and characters per step (truncated BPTT length).
        lr, clip: Adam learning rate and gradient-norm clipping.
        minutes: wall-clock budget (0 = none); training stops after the step that passes it.
        steps: stop after this many steps (0 = none).
        epochs: stop after this many passes over the training text (0 = none).
        eval_every: validate (and checkpoint if better) every this many steps.
        val_chars: validation characters for the periodic check (0 = all; the final check
            always uses all of them).
        val_fraction: held-out share at the end of the text.
        max_chars: use only the first this many characters of the text (0 = all; tests).
        seed: weights.
        data_dir: folder holding ``tinyshakespeare/input.txt`` (default: ``_run.data_root``).
    """

    task: str = "text"
    emb: int = 64
    hidden: int = 512
    layers: int = 1
    dropout: float = 0.0
    batch_size: int = 32
    seq: int = 100
    lr: float = 0.002
    clip: float = 5.0
    minutes: float = 0.0
    steps: int = 0
    epochs: int = 0
    eval_every: int = 200
    val_chars: int = 30000
    val_fraction: float = 0.1
    max_chars: int = 0
    seed: int = 0
    data_dir: str | None = None

    def __post_init__(self):
        check_fields(self, [
            ("task", self.task == "text", '"text"'),
            *[(k, getattr(self, k) >= 1, ">= 1") for k in
              ("emb", "hidden", "layers", "batch_size", "seq", "eval_every")],
            ("dropout", 0 <= self.dropout < 1, "in [0, 1)"),
            ("lr", self.lr > 0, "> 0"), ("clip", self.clip > 0, "> 0"),
            *[(k, getattr(self, k) >= 0, ">= 0") for k in
              ("minutes", "steps", "epochs", "val_chars", "max_chars", "seed")],
            ("val_fraction", 0 < self.val_fraction < 1, "in (0, 1)")])


def load_text(data_dir=None, max_chars: int = 0) -> str:
    """The Tiny Shakespeare text (``<data>/tinyshakespeare/input.txt``), optionally cut."""
    path = data_root(data_dir) / "tinyshakespeare" / "input.txt"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: Tiny Shakespeare not found (set --data-dir or "
                                f"GLASSNET_DATA)")
    text = path.read_text(encoding="utf-8")
    return text[:max_chars] if max_chars else text


def streams(ids: np.ndarray, batch: int) -> np.ndarray:
    """Cut a 1-D id array into ``batch`` equal contiguous streams.

    Shape:
        ids: (T_total,); output: (batch, T_total // batch).
    """
    T = len(ids) // batch
    if T < 2:
        raise ValueError(f"streams(batch={batch}): {len(ids)} characters are too few")
    return ids[:T * batch].reshape(batch, T)


@no_grad()
def evaluate_text(model, ids: np.ndarray, batch: int = 32, seq: int = 256) -> float:
    """Mean cross-entropy in nats per character over ``ids`` (state carried across chunks)."""
    was_training = model.training
    model.eval()
    S = streams(ids, min(batch, max(1, len(ids) // 2)))
    total, count, state = 0.0, 0, None
    for s in range(0, S.shape[1] - 1, seq):
        y = S[:, s + 1:s + seq + 1]
        x = S[:, s:s + y.shape[1]]
        logits, state = model(x, state)
        loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                           Tensor(y.reshape(-1)), reduction="sum")
        total, count = total + loss.item(), count + y.size
    model.train(was_training)
    return total / count


@no_grad()
def sample(model, chars: str, prompt: str, length: int, temperature: float = 1.0,
           top_k: int | None = None, seed: int | None = 0) -> str:
    """Continue ``prompt`` by ``length`` characters drawn from softmax(logits / temperature),
    restricted to the ``top_k`` most likely characters when given (``top_k=1``: greedy).

    Args:
        model: a :class:`CharLSTM`.
        chars: the vocabulary, character ``i`` has id ``i``.
        prompt: text to continue; every character must be in ``chars``.
        length: characters to add (>= 0).
        temperature: > 0; lower is more conservative.
        top_k: keep only the k largest logits (>= 1), or ``None`` for all.
        seed: seed of the sampling generator (same seed, same text).

    Returns:
        ``prompt`` followed by ``length`` generated characters.

    Example:
        >>> sample(model, chars, "ROMEO:", 20, temperature=0.8, seed=0)[:6]
        'ROMEO:'
    """
    if not isinstance(length, int) or length < 0:
        raise ValueError(f"sample(length={length!r}): expected an int >= 0")
    if not temperature > 0:
        raise ValueError(f"sample(temperature={temperature!r}): expected a number > 0")
    if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
        raise ValueError(f"sample(top_k={top_k!r}): expected an int >= 1 or None")
    stoi = {c: i for i, c in enumerate(chars)}
    unknown = sorted(set(prompt) - set(stoi))
    if unknown:
        raise ValueError(f"sample(prompt={prompt!r}): characters {''.join(unknown)!r} are not "
                         f"in the model's vocabulary")
    was_training = model.training
    model.eval()
    rng = np.random.default_rng(seed)
    start = prompt or ("\n" if "\n" in stoi else chars[0])
    logits, state = model(np.array([[stoi[c] for c in start]], np.int64))
    out = []
    for _ in range(length):
        z = logits.numpy()[0, -1].astype(np.float64) / temperature
        if top_k is not None and top_k < len(z):
            z[z < np.sort(z)[-top_k]] = -np.inf
        p = np.exp(z - z.max())
        nxt = int(rng.choice(len(p), p=p / p.sum()))
        out.append(chars[nxt])
        logits, state = model(np.array([[nxt]], np.int64), state)
    model.train(was_training)
    return prompt + "".join(out)


def _model(cfg: TextRecipe, vocab: int) -> CharLSTM:
    return CharLSTM(vocab, cfg.emb, cfg.hidden, cfg.layers, cfg.dropout)


def train_text(recipe: TextRecipe, run_dir, *, overwrite: bool = False,
               verbose: bool = True) -> dict:
    """Train a :class:`CharLSTM` and write the run folder (see the module docstring).

    The best periodic validation checkpoint is kept, so a run stopped early (Ctrl-C) still
    has usable weights.

    Returns:
        The contents of ``run.json``: steps, seconds, final train loss, ``val_nats_per_char``
        of the kept weights on the whole held-out split, sizes.

    Example:
        >>> res = train_text(TextRecipe(minutes=20), "runs/char_lstm")
        >>> res["val_nats_per_char"] < 1.7
        True
    """
    run_dir = prepare_run_dir(run_dir, recipe, overwrite=overwrite)
    text = load_text(recipe.data_dir, recipe.max_chars)
    chars = "".join(sorted(set(text)))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = np.array([stoi[c] for c in text], np.int64)
    split = int(len(ids) * (1 - recipe.val_fraction))
    train_ids, val_ids = ids[:split], ids[split:]
    write_json(run_dir / "vocab.json", {"chars": chars})
    manual_seed(recipe.seed)
    model = _model(recipe, len(chars))
    opt = optim.Adam(model.parameters(), lr=recipe.lr)
    S = streams(train_ids, recipe.batch_size)
    if verbose:
        print(f"{len(train_ids)} train / {len(val_ids)} val chars, vocab {len(chars)}, "
              f"{model.num_parameters()} parameters", flush=True)
    metrics = run_dir / "metrics.jsonl"
    metrics.unlink(missing_ok=True)
    start, step, epoch, pos, state, best = time.perf_counter(), 0, 0, 0, None, math.inf
    check = val_ids[:recipe.val_chars] if recipe.val_chars else val_ids
    try:
        while True:
            if pos + recipe.seq + 1 > S.shape[1]:
                pos, state, epoch = 0, None, epoch + 1      # next pass: restart the streams
            x, y = S[:, pos:pos + recipe.seq], S[:, pos + 1:pos + recipe.seq + 1]
            pos += recipe.seq
            logits, state = model(x, state)
            state = tuple(s.detach() for s in state)        # truncated BPTT
            loss = nn.functional.cross_entropy(logits.reshape(-1, len(chars)),
                                               Tensor(y.reshape(-1)))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), recipe.clip)
            opt.step()
            step += 1
            elapsed = time.perf_counter() - start
            done = ((recipe.minutes and elapsed > recipe.minutes * 60)
                    or (recipe.steps and step >= recipe.steps)
                    or (recipe.epochs and epoch >= recipe.epochs))
            if step % recipe.eval_every == 0 or done:
                val = evaluate_text(model, check)
                row = {"step": step, "seconds": round(elapsed, 1),
                       "train_loss": round(loss.item(), 4), "val_nats_per_char": round(val, 4)}
                with open(metrics, "a", encoding="utf-8") as f:
                    f.write(json.dumps(row) + "\n")
                if verbose:
                    print(json.dumps(row), flush=True)
                if val < best:
                    best = val
                    save_weights(model, run_dir / "weights.safetensors")
            if done:
                break
    except KeyboardInterrupt:
        if not (run_dir / "weights.safetensors").exists():
            raise
        if verbose:
            print(f"interrupted at step {step}; keeping the best checkpoint", flush=True)
    seconds = time.perf_counter() - start
    load_weights(model, run_dir / "weights.safetensors")
    result = {"val_nats_per_char": round(evaluate_text(model, val_ids), 4),
              "val_chars": int(len(val_ids)), "train_chars": int(len(train_ids)),
              "steps": step, "train_seconds": round(seconds, 1),
              "final_train_loss": round(loss.item(), 4), "vocab": len(chars),
              "parameters": model.num_parameters()}
    write_json(run_dir / "run.json", result)
    return result


def load_text_run(run_dir):
    """``(model, chars)`` of a run folder written by :func:`train_text`, model in eval mode.

    Raises:
        FileNotFoundError: ``run_dir`` or one of its files is missing.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: no such run directory")
    recipe = read_recipe(TextRecipe, run_dir / "recipe.toml")
    chars = read_json(run_dir / "vocab.json")["chars"]
    if not isinstance(chars, str) or not chars:
        raise ValueError(f"{run_dir / 'vocab.json'}: expected {{\"chars\": \"...\"}}")
    model = _model(recipe, len(chars))
    weights = run_dir / "weights.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{weights}: missing (not a trained text run)")
    load_weights(model, weights)
    model.eval()
    return model, chars


def generate(run_dir, prompt: str = "ROMEO:", length: int = 500, temperature: float = 0.8,
             top_k: int | None = None, seed: int | None = None) -> str:
    """Sample from a trained run: ``prompt`` + ``length`` characters (see :func:`sample`).

    Example:
        >>> generate("runs/char_lstm", "ROMEO:", 300, 0.8, seed=0)[:6]
        'ROMEO:'
    """
    if not temperature > 0:                      # check before loading anything
        raise ValueError(f"--temperature {temperature}: expected a number > 0")
    if top_k is not None and top_k < 1:
        raise ValueError(f"--top-k {top_k}: expected an int >= 1")
    if length < 0:
        raise ValueError(f"--length {length}: expected an int >= 0")
    model, chars = load_text_run(run_dir)
    return sample(model, chars, prompt, length, temperature, top_k, seed)


def cmd_train(args) -> int:
    """``glassnet train recipes/char_lstm.toml --out RUN_DIR``: train and print the result."""
    recipe, run_dir, res = cli_train(args, TextRecipe, train_text)
    print(f"validation {res['val_nats_per_char']:.4f} nats/char on {res['val_chars']} "
          f"held-out chars after {res['steps']} steps, {res['train_seconds']:.0f} s")
    print(f"run written to {run_dir}")
    return 0


def cmd_generate(args) -> int:
    """``glassnet generate RUN_DIR --prompt P --length N --temperature T [--top-k K]
    [--seed S]``: print the prompt and its continuation."""
    print(generate(args.run_dir, args.prompt, args.length, args.temperature, args.top_k,
                   args.seed))
    return 0
