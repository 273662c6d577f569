r"""Task ``text_generation``: a character-level LSTM language model of any UTF-8 text file.

Data: one UTF-8 text file (default ``tinyshakespeare/input.txt`` under the data root). It is
cut into three contiguous parts: train, validation, test (``val_fraction`` and
``test_fraction`` at the end, 5% each by default). The vocabulary is every character of the
file (a symbol set, not a statistic of the held-out parts).

Model: Embedding(V, E) → LSTM(E, H, layers) → Dropout(``dropout``) → Linear(H, V) at every
step (:class:`CharLM`, a :class:`glassnet.runs.char_lm.CharLSTM` with dropout before the output
layer; the LSTM also drops between stacked layers).

Training goes through :func:`glassnet.train.fit`. Truncated BPTT: the training text is cut
into ``batch_size`` parallel streams; each step reads the next ``seq`` characters of every
stream. The state is carried by :class:`CarriedState`, a wrapper that feeds the LSTM the
previous call's final state, detached, unless the batch says it starts the streams again;
the batches come from :class:`StreamChunks` as ``((ids, fresh), targets)``. One fit "epoch"
is ``eval_every`` steps, after which the first ``val_chars`` characters of the validation part
are scored (nats/char, state carried across chunks); :class:`~glassnet.train.EarlyStopping`
stops after ``patience`` checks without improvement and restores the best weights. Budgets:
``max_steps`` and ``max_minutes`` (``fit``'s ``max_steps``/``max_seconds``). Gradients are
clipped to norm ``clip`` by :class:`ClipGradNorm`, an optimizer wrapper.

The test part is read once, with the kept weights: nats per character over it, read as the
validation part is (up to 32 streams of at least 64 characters, 256-character chunks, the
state carried; a remainder shorter than the chunks is left out).
Baselines on the same test part: unigram (character frequencies of the training part) and
bigram (next-character frequencies given the previous one), both add-one smoothed.

A run folder holds ``recipe.toml``, ``vocab.json`` (``{"chars"}``, id = position),
``weights.safetensors`` (the :class:`CharLM`), ``metrics.jsonl`` (one row per check) and
``run.json``.

    glassnet train recipes/char_lstm.toml --out runs/char_lstm
    glassnet generate runs/char_lstm --prompt "ROMEO:" --length 500 --temperature 0.8 --seed 0
    glassnet predict runs/char_lstm some.txt          # nats/char of the model on a file
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
from pathlib import Path

import numpy as np

from .. import nn, optim
from ..io import atomic_write_text, load_weights, save_weights
from ..tensor import Tensor, manual_seed
from ..train import Callback, EarlyStopping, JSONLLogger, evaluate, fit
from .char_lm import CharLSTM, sample
from .common import ClipGradNorm, print_header, print_result
from .recipe import TaskRecipe, param, read_toml
from .registry import Task, register
from .rundir import prepare_run_dir, resolve_data, write_run_json

__all__ = ["TextGenerationRecipe", "CharLM", "CarriedState", "StreamChunks", "ClipGradNorm",
           "read_text", "ngram_nats", "nats_per_char", "train_text_generation",
           "load_text_generation_run", "cmd_generate"]


@dataclasses.dataclass
class TextGenerationRecipe(TaskRecipe):
    """Keys of a ``text_generation`` recipe (``recipes/char_lstm.toml``).

    Args:
        data: the UTF-8 text file.
        emb, hidden, layers, dropout: :class:`CharLM` sizes and dropout.
        batch_size, seq: parallel streams and characters per step (truncated BPTT length).
        lr, clip: Adam learning rate and gradient-norm clipping.
        max_steps, max_minutes: budgets (0 = none; without max_steps, 100 passes over the
            training text at most); training also ends by early stopping.
        eval_every: steps between validation checks (one fit epoch).
        val_chars: validation characters scored at each check (0 = all; the final figure
            always uses all of them).
        patience: checks without improvement before stopping.
        val_fraction, test_fraction: contiguous held-out parts at the end of the text.
        max_chars: use only the first this many characters (0 = all; for quick tries).
        seed: weights and dropout.
    """

    task: str = "text_generation"
    data: str = param("tinyshakespeare/input.txt", required="a UTF-8 text file")
    emb: int = param(64, ge=1)
    hidden: int = param(512, ge=1)
    layers: int = param(1, ge=1)
    dropout: float = param(0.0, ge=0, lt=1)
    batch_size: int = param(32, ge=1)
    seq: int = param(100, ge=1)
    lr: float = param(0.002, gt=0)
    clip: float = param(5.0, gt=0)
    max_steps: int = param(0, ge=0)
    max_minutes: float = param(0.0, ge=0)
    eval_every: int = param(200, ge=1)
    val_chars: int = param(30000, ge=0)
    patience: int = param(5, ge=1)
    val_fraction: float = param(0.05, gt=0, lt=0.5)
    test_fraction: float = param(0.05, gt=0, lt=0.5)
    max_chars: int = param(0, ge=0)
    seed: int = param(0, ge=0)


class CharLM(CharLSTM):
    """:class:`~glassnet.runs.char_lm.CharLSTM` with dropout on the LSTM outputs.

    Args:
        vocab, emb, hidden, layers: as :class:`~glassnet.runs.char_lm.CharLSTM`.
        dropout: dropout before the output layer, and between stacked LSTM layers.

    Shape:
        ids: (N, L) int; output: logits (N, L, V) and the state ``(h, c)``, each (layers, N, H).

    Example:
        >>> logits, (h, c) = CharLM(65, hidden=32, dropout=0.2)(np.zeros((2, 5), np.int64))
        >>> logits.shape
        (2, 5, 65)
    """

    def __init__(self, vocab: int, emb: int = 64, hidden: int = 512, layers: int = 1,
                 dropout: float = 0.0):
        super().__init__(vocab, emb, hidden, layers, dropout if layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)

    def forward(self, ids, state=None):
        ids = ids if isinstance(ids, Tensor) else Tensor(np.asarray(ids, np.int64))
        out, state = self.lstm(self.emb(ids), state)
        return self.fc(self.drop(out)), state


class CarriedState(nn.Module):
    """Truncated BPTT for :func:`~glassnet.train.fit`: ``forward((ids, fresh))`` runs the
    language model from the state the previous call ended in (detached, so gradients stop
    at the chunk's start), or from zeros when ``fresh``. Training and evaluation keep separate
    states, so a validation pass does not disturb the training streams.

    Shape:
        ids: (N, L) int; output: logits (N, L, V).
    """

    def __init__(self, lm: nn.Module):
        super().__init__()
        self.lm = lm
        self._carry = {}

    def forward(self, inputs):
        ids, fresh = inputs
        state = None if fresh else self._carry.get(self.training)
        logits, state = self.lm(ids, state)
        self._carry[self.training] = tuple(s.detach() for s in state)
        return logits


class StreamChunks:
    """Batches ``((ids, fresh), targets)`` of truncated BPTT over ``streams`` (N, T).

    Each iteration yields ``steps`` chunks (or, with ``steps=None``, one pass over the
    streams) of ``seq`` characters per stream and the characters that follow them; the
    position carries over to the next iteration and wraps to the start (``fresh=True``)
    when fewer than ``seq + 1`` characters are left.
    """

    def __init__(self, streams: np.ndarray, seq: int, steps: int | None = None):
        self.streams, self.seq = streams, min(seq, streams.shape[1] - 1)
        self.per_pass = (streams.shape[1] - 1) // self.seq
        self.steps, self.pos = steps, 0

    def __len__(self):
        return self.steps or self.per_pass

    def __iter__(self):
        if self.steps is None:
            self.pos = 0
        for _ in range(len(self)):
            if self.pos + self.seq + 1 > self.streams.shape[1]:
                self.pos = 0
            s = self.pos
            self.pos += self.seq
            yield ((self.streams[:, s:s + self.seq], s == 0),
                   self.streams[:, s + 1:s + self.seq + 1])


class _Outcome(Callback):
    """Remembers the steps run and why :func:`~glassnet.train.fit` stopped."""

    step, reason = 0, None

    def on_train_end(self, logs):
        self.step, self.reason = self.context.step, logs.get("stop_reason")


def _next_char_loss(logits, targets):
    """Mean cross-entropy over every (stream, step): logits (N, L, V), targets (N, L)."""
    y = targets if isinstance(targets, Tensor) else Tensor(np.asarray(targets))
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def read_text(path) -> str:
    """The text of a UTF-8 file; an error names the file and the line of a bad byte."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"data {path}: no such file")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ValueError(f"data {path}:{line}: not UTF-8 (byte {raw[e.start]:#04x} at offset "
                         f"{e.start})") from None
    return text


def ngram_nats(train: np.ndarray, test: np.ndarray, vocab: int, order: int) -> float:
    """Nats per character of an add-one smoothed unigram (``order=1``) or bigram (2) model,
    counted on ``train``, over the characters ``test[1:]`` (the first has no predecessor)."""
    if order == 1:
        p = (np.bincount(train, minlength=vocab) + 1.0) / (len(train) + vocab)
        return float(-np.log(p[test[1:]]).mean())
    counts = np.ones((vocab, vocab))
    np.add.at(counts, (train[:-1], train[1:]), 1.0)
    p = counts / counts.sum(axis=1, keepdims=True)
    return float(-np.log(p[test[:-1], test[1:]]).mean())


def _split(n: int, recipe) -> tuple[int, int]:
    n_test, n_val = int(n * recipe.test_fraction), int(n * recipe.val_fraction)
    return n - n_val - n_test, n - n_test


def _val_batches(ids: np.ndarray, batch: int = 32, seq: int = 256) -> list:
    """Validation chunks of equal size (so fit's mean loss is the mean over characters):
    ``batch`` streams (fewer for a short text, each at least 64 characters long)."""
    batch = max(1, min(batch, len(ids) // 64))
    streams = ids[:len(ids) // batch * batch].reshape(batch, -1)
    seq = max(1, min(seq, streams.shape[1] - 1))
    T = (streams.shape[1] - 1) // seq * seq
    return [((streams[:, s:s + seq], s == 0), streams[:, s + 1:s + seq + 1])
            for s in range(0, T, seq)]


def nats_per_char(lm, ids: np.ndarray) -> float:
    """Mean cross-entropy (nats) of ``lm`` on the next characters of ``ids``, in eval mode,
    the state carried across chunks (the chunks of the validation checks)."""
    return evaluate(CarriedState(lm), _val_batches(ids), _next_char_loss, metrics=())["loss"]


def train_text_generation(recipe: TextGenerationRecipe, run_dir, *, overwrite=False,
                          verbose=True, data_dir=None) -> dict:
    """Train a :class:`CharLM` on ``recipe.data`` and write the run folder (module docstring).

    Returns:
        The ``run.json`` record: ``test`` {nats_per_char, bits_per_char}, ``baselines``
        {unigram, bigram}, validation figure, best step, steps run and why training stopped.
    """
    start = time.perf_counter()
    path = resolve_data(recipe.data, data_dir)
    text = read_text(path)
    if recipe.max_chars:
        text = text[:recipe.max_chars]
    chars = "".join(sorted(set(text)))
    stoi = {c: i for i, c in enumerate(chars)}
    ids = np.array([stoi[c] for c in text], np.int64)
    a, b = _split(len(ids), recipe)
    train, val, test = ids[:a], ids[a:b], ids[b:]
    if a // recipe.batch_size < 2 or len(val) < 4 or len(test) < 4:
        raise ValueError(f"data {path}: {len(ids)} characters are too few for {recipe.batch_size}"
                         f" streams and validation/test parts of "
                         f"{recipe.val_fraction}/{recipe.test_fraction}")
    run_dir = prepare_run_dir(run_dir, recipe, overwrite=overwrite)
    atomic_write_text(run_dir / "vocab.json", json.dumps({"chars": chars}))
    manual_seed(recipe.seed)
    lm = CharLM(len(chars), recipe.emb, recipe.hidden, recipe.layers, recipe.dropout)
    if verbose:
        print_header("text_generation", path, {"train": len(train), "validation": len(val),
                                               "test": len(test)}, lm, (recipe.seq,),
                     dtype=np.int64, unit=f"characters, vocabulary {len(chars)}")
    streams = train[:a // recipe.batch_size * recipe.batch_size].reshape(recipe.batch_size, -1)
    chunks = StreamChunks(streams, recipe.seq, recipe.eval_every)
    check = val[:recipe.val_chars] if recipe.val_chars else val
    checks = _val_batches(check)
    model = CarriedState(lm)
    opt = ClipGradNorm(optim.Adam(lm.parameters(), lr=recipe.lr), recipe.clip)
    stop = EarlyStopping("val_loss", patience=recipe.patience, restore_best=True)
    logger = JSONLLogger(run_dir / "metrics.jsonl")
    steps = recipe.max_steps or 100 * chunks.per_pass       # at most 100 passes
    checks_at_most = math.ceil(steps / recipe.eval_every)
    outcome = _Outcome()
    history = fit(model, _next_char_loss, opt, chunks, checks, epochs=checks_at_most, metrics=(),
                  callbacks=[stop, logger, outcome], verbose=verbose,
                  max_steps=recipe.max_steps or None,
                  max_seconds=recipe.max_minutes * 60 if recipe.max_minutes else None)
    seconds = time.perf_counter() - start
    save_weights(lm, run_dir / "weights.safetensors")
    steps = outcome.step
    best_check = (stop.best_epoch or 0) + 1
    val_nats = nats_per_char(lm, val)
    test_nats = nats_per_char(lm, test)                     # the test part, read once
    baselines = {name: {"nats_per_char": round(ngram_nats(train, test, len(chars), k), 4)}
                 for name, k in (("unigram", 1), ("bigram", 2))}
    record = {"task": "text_generation", "data": str(path),
              "test": {"nats_per_char": round(test_nats, 4),
                       "bits_per_char": round(test_nats / math.log(2), 4)},
              "baselines": baselines,
              "validation": {"nats_per_char": round(val_nats, 4)},
              "chosen": "char_lstm", "why": "early stopping on validation nats/char, the best "
              f"check's weights kept (check {best_check} of {len(history)})",
              "best_step": min(best_check * recipe.eval_every, steps), "steps": steps,
              "stop_reason": outcome.reason, "train_seconds": round(seconds, 1),
              "chars": {"train": int(len(train)), "validation": int(len(val)),
                        "test": int(len(test))},
              "vocab": len(chars), "parameters": lm.num_parameters()}
    write_run_json(run_dir, record)
    if verbose:
        print_result("text_generation", record["test"], baselines, run_dir,
                     f"validation {val_nats:.4f} nats/char; best check at step "
                     f"{record['best_step']} of {steps}, stopped: {record['stop_reason']}")
    return record


def load_text_generation_run(run_dir):
    """``(model, chars)`` of a ``text_generation`` run folder, the model in eval mode.

    A run of the older ``text`` app (``task = "text"`` in its ``recipe.toml``: the same
    Embedding → LSTM → Linear weights, no output dropout) loads the same way, so
    ``glassnet generate`` keeps working on old runs.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{run_dir}: no such run directory")
    raw = read_toml(run_dir / "recipe.toml")
    if raw.get("task") == "text":
        sizes = {k: raw[k] for k in ("emb", "hidden", "layers", "dropout") if k in raw}
    else:
        recipe = TextGenerationRecipe.from_toml(run_dir / "recipe.toml")
        sizes = {k: getattr(recipe, k) for k in ("emb", "hidden", "layers", "dropout")}
    chars = json.loads((run_dir / "vocab.json").read_text(encoding="utf-8"))["chars"]
    if not isinstance(chars, str) or not chars:
        raise ValueError(f"{run_dir / 'vocab.json'}: expected {{\"chars\": \"...\"}}")
    lm = CharLM(len(chars), **sizes)
    weights = run_dir / "weights.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(f"{weights}: missing (not a finished text_generation run)")
    load_weights(lm, weights)
    return lm.eval(), chars


def cmd_generate(args) -> int:
    """``glassnet generate RUN_DIR --prompt P ...`` for a ``text_generation`` run (or a run of
    the older ``text`` app)."""
    if not args.temperature > 0:
        raise ValueError(f"--temperature {args.temperature}: expected a number > 0")
    if args.top_k is not None and args.top_k < 1:
        raise ValueError(f"--top-k {args.top_k}: expected an int >= 1")
    if args.length < 0:
        raise ValueError(f"--length {args.length}: expected an int >= 0")
    lm, chars = load_text_generation_run(args.run_dir)
    print(sample(lm, chars, args.prompt, args.length, args.temperature, args.top_k, args.seed))
    return 0


def _predict_cli(run_dir, args) -> str:
    """``glassnet predict RUN FILE``: the model's nats/char on a text file, beside unigram."""
    if not getattr(args, "file", None):
        raise ValueError("predict: give a UTF-8 text file to score (glassnet generate RUN "
                         "samples text)")
    text = read_text(args.file)
    lm, chars = load_text_generation_run(run_dir)
    stoi = {c: i for i, c in enumerate(chars)}
    bad = next((i for i, c in enumerate(text) if c not in stoi), None)
    if bad is not None:
        raise ValueError(f"predict: {args.file}:{text[:bad].count(chr(10)) + 1}: character "
                         f"{text[bad]!r} is not in the run's vocabulary")
    ids = np.array([stoi[c] for c in text], np.int64)
    if len(ids) < 2:
        raise ValueError(f"predict: {args.file}: expected at least 2 characters")
    nats = nats_per_char(lm, ids)
    return json.dumps({"file": str(args.file), "chars": int(len(ids)),
                       "nats_per_char": round(nats, 4),
                       "bits_per_char": round(nats / math.log(2), 4)})


register(Task(name="text_generation", summary="character-level LSTM language model of a text "
              "file (glassnet generate RUN samples it)", recipe=TextGenerationRecipe,
              train=train_text_generation, predict=_predict_cli,
              formats="one UTF-8 text file; contiguous train/validation/test parts"))
