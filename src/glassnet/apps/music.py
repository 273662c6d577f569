r"""Polyphonic music modelling on the JSB Chorales: an LSTM over 88-key piano-roll frames.

Each time step (one quarter note in ``jsb-chorales-quarter.json``) is a binary vector
v_t ∈ {0, 1}^88 (piano keys, MIDI 21–108). The model reads v_0 … v_{t−1} (an all-zero frame
stands before v_0) and gives an independent Bernoulli probability for each key of v_t:

    h_t = LSTM(v_{t−1}, h_{t−1}),   p(v_t | v_<t) = Π_k σ(z_tk)^{v_tk} (1 − σ(z_tk))^{1−v_tk},
    z_t = W h_t + b

The loss is BCE-with-logits summed over the 88 keys and averaged over frames, so it is the
negative log-likelihood in nats per frame, the figure reported in Boulanger-Lewandowski et al.
(2012) (RNN ≈ 8.7 on this quarter-note version; first frame included, predicted from the
zero frame).

A sampled chorale is written as MIDI with mido (:func:`roll_to_midi`; a key held on in
consecutive frames becomes one long note, as the data set does not mark repeated notes) and
drawn as a piano roll with matplotlib (:func:`plot_roll`).

    glassnet train recipes/music.toml --out runs/music
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from .. import nn, optim
from ..io import load_weights, save_weights
from ..nn import functional as F
from ..runs import Task, TaskRecipe, register, write_run_json
from ..runs.common import ClipGradNorm, app_trainer, print_header
from ..runs.recipe import param
from ..runs.rundir import data_root, prepare_run_dir, read_run_json, resolve_data
from ..tensor import Tensor, manual_seed, no_grad
from ..train import EarlyStopping, JSONLLogger, LRSchedulerCallback, fit
from .music_data import load_midi_folder, music_baselines, read_chorale_json, read_midi

__all__ = ["LOWEST", "KEYS", "load_jsb", "to_roll", "batches", "MusicLSTM", "frame_nll",
           "sample", "roll_to_midi", "midi_to_roll", "plot_roll", "MusicRecipe", "train_music",
           "load_music_run", "load_rolls", "PieceBatches", "masked_frame_nll"]

LOWEST, KEYS = 21, 88          # piano keys: MIDI notes 21 (A0) .. 108 (C8)


def load_jsb(data_dir=None, resolution: str = "quarter") -> dict[str, list[list[list[int]]]]:
    """The JSB Chorales split ``{"train": [...], "valid": [...], "test": [...]}``: each piece is
    a list of time steps, each a list of the MIDI notes sounding (``music/jsb-chorales-*.json``).
    """
    path = data_root(data_dir) / "music" / f"jsb-chorales-{resolution}.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no JSB Chorales file (set --data-dir or GLASSNET_DATA)")
    return json.loads(path.read_text(encoding="utf-8"))


def to_roll(piece) -> np.ndarray:
    """One piece (list of lists of MIDI notes) as a float32 piano roll (T, 88)."""
    roll = np.zeros((len(piece), KEYS), np.float32)
    for t, notes in enumerate(piece):
        for n in notes:
            if not LOWEST <= int(n) < LOWEST + KEYS:
                raise ValueError(f"to_roll: MIDI note {n} at step {t} is outside the piano "
                                 f"(21..108)")
            roll[t, int(n) - LOWEST] = 1.0
    return roll


def batches(rolls, batch_size: int, rng=None):
    """Pieces grouped by similar length into padded batches ``(inputs, targets, mask)``.

    Shape:
        inputs, targets: (N, L, 88), inputs = targets shifted right by one step behind a
        zero frame; mask: (N, L), 1 on real frames. ``rng`` shuffles the batch order.
    """
    order = np.argsort([len(r) for r in rolls], kind="stable")
    groups = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(groups)
    for g in groups:
        L = max(len(rolls[i]) for i in g)
        y = np.zeros((len(g), L, KEYS), np.float32)
        mask = np.zeros((len(g), L), np.float32)
        for j, i in enumerate(g):
            y[j, :len(rolls[i])] = rolls[i]
            mask[j, :len(rolls[i])] = 1
        x = np.concatenate([np.zeros_like(y[:, :1]), y[:, :-1]], axis=1)
        yield x, y, mask


class MusicLSTM(nn.Module):
    r"""LSTM next-frame model: LSTM(88 → H, num_layers) → Dropout → Linear(H → 88) logits.

    Args:
        hidden: LSTM hidden size H.
        num_layers: stacked LSTM layers.
        dropout: dropout on the LSTM output (and between layers).

    Shape:
        input: (N, L, 88) frames; output: ((N, L, 88) logits, (h_n, c_n)).

    Example:
        >>> logits, state = MusicLSTM(64)(np.zeros((2, 10, 88), np.float32))
        >>> logits.shape
        (2, 10, 88)
    """

    def __init__(self, hidden: int = 128, num_layers: int = 1, dropout: float = 0.0):
        super().__init__()
        self.lstm = nn.LSTM(KEYS, hidden, num_layers=num_layers, batch_first=True,
                            dropout=dropout if num_layers > 1 else 0.0)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, KEYS)

    def forward(self, x, state=None):
        x = x if isinstance(x, Tensor) else Tensor(np.asarray(x, np.float32))
        h, state = self.lstm(x, state)
        return self.out(self.drop(h)), state


def frame_nll(logits: Tensor, target, mask, frames: float | None = None) -> Tensor:
    """Negative log-likelihood in nats (BCE-with-logits summed over keys) summed over the real
    frames and divided by ``frames`` (default: their number, i.e. the mean per frame).

    Shape:
        logits, target: (N, L, 88); mask: (N, L).
    """
    mask = np.asarray(mask, np.float32)
    w = np.broadcast_to(mask[..., None], logits.shape)
    total = F.binary_cross_entropy_with_logits(logits, Tensor(np.asarray(target, np.float32)),
                                               weight=Tensor(np.ascontiguousarray(w)),
                                               reduction="sum")
    return total / float(mask.sum() if frames is None else frames)


def masked_frame_nll(output, target) -> Tensor:
    """The loss :func:`~glassnet.train.fit` calls: ``output`` is :class:`MusicLSTM`'s
    ``(logits, state)``, ``target`` is ``(targets, mask, frames)`` from :class:`PieceBatches`."""
    y, mask, frames = target
    return frame_nll(output[0], y, mask, frames)


class PieceBatches:
    """The batches of :func:`batches` for :func:`~glassnet.train.fit`: ``(inputs, (targets,
    mask, frames))``, reshuffled by ``rng`` on every pass (``rng=None``: fixed order).

    ``frames`` divides the batch's summed NLL. Training (``per_piece=False``): the batch's
    frame count, the mean per frame. Evaluation (``per_piece=True``): the batch's pieces times
    the mean frames per piece of all ``rolls``, so that fit's mean over pieces
    (batches weighted by their size) is exactly the NLL per frame of the whole set.
    """

    def __init__(self, rolls, batch_size: int, rng=None, *, per_piece: bool = False):
        self.rolls, self.batch_size, self.rng = rolls, batch_size, rng
        self.frames_per_piece = (sum(len(r) for r in rolls) / len(rolls)) if per_piece else None

    def __len__(self):
        return -(-len(self.rolls) // self.batch_size)

    def __iter__(self):
        for x, y, m in batches(self.rolls, self.batch_size, self.rng):
            frames = (len(x) * self.frames_per_piece if self.frames_per_piece is not None
                      else None)
            yield x, (y, m, frames)


@no_grad()
def evaluate_nll(model: MusicLSTM, rolls, batch_size: int = 32) -> float:
    """Per-frame NLL (nats/frame) of ``model`` over the pieces ``rolls``."""
    was = model.training
    model.eval()
    total = frames = 0.0
    for x, y, m in batches(rolls, batch_size):
        total += frame_nll(model(x)[0], y, m).item() * float(m.sum())
        frames += float(m.sum())
    model.train(was)
    return float(total / frames)


@no_grad()
def sample(model: MusicLSTM, steps: int, *, seed: int = 0, temperature: float = 1.0,
           max_notes: int = 4) -> np.ndarray:
    """Draw a piano roll (steps, 88): each frame's keys are Bernoulli(σ(z / temperature)); if
    more than ``max_notes`` are drawn, only the most probable of them are kept (chorales have
    four voices)."""
    rng = np.random.default_rng(seed)
    was = model.training
    model.eval()
    frame, state, roll = np.zeros((1, 1, KEYS), np.float32), None, []
    for _ in range(steps):
        logits, state = model(frame, state)
        p = 1 / (1 + np.exp(-logits.array[0, 0].astype(np.float64) / temperature))
        on = rng.random(KEYS) < p
        if on.sum() > max_notes:
            keep = np.argsort(np.where(on, p, -1))[-max_notes:]
            on = np.zeros(KEYS, bool)
            on[keep] = True
        frame = on.astype(np.float32)[None, None]
        roll.append(frame[0, 0])
    model.train(was)
    return np.stack(roll)


def roll_to_midi(roll, path, *, ticks_per_step: int = 480, bpm: int = 90,
                 program: int = 19) -> Path:
    """Write a piano roll (T, 88) as a one-track MIDI file with mido; one step = one beat.

    A key on in consecutive steps is one held note. ``program`` 19 = church organ.
    """
    import mido
    roll = np.asarray(roll) > 0
    mid = mido.MidiFile(ticks_per_beat=ticks_per_step)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    track.append(mido.Message("program_change", program=program, time=0))
    prev, wait = np.zeros(KEYS, bool), 0
    for frame in list(roll) + [np.zeros(KEYS, bool)]:
        for k in np.flatnonzero(prev & ~frame):
            track.append(mido.Message("note_off", note=int(k) + LOWEST, velocity=0, time=wait))
            wait = 0
        for k in np.flatnonzero(frame & ~prev):
            track.append(mido.Message("note_on", note=int(k) + LOWEST, velocity=80, time=wait))
            wait = 0
        prev, wait = frame, wait + ticks_per_step
    track.append(mido.MetaMessage("end_of_track", time=0))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mid.save(path)
    return path


def midi_to_roll(path) -> np.ndarray:
    """Read a MIDI file (mido) back into a piano roll (T, 88), one step per beat."""
    import mido
    mid = mido.MidiFile(path)
    step, now, notes = mid.ticks_per_beat, 0, []
    start = {}
    for msg in mido.merge_tracks(mid.tracks):
        now += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            start[msg.note] = now
        elif msg.type in ("note_on", "note_off") and msg.note in start:
            notes.append((msg.note, start.pop(msg.note) // step, now // step))
    roll = np.zeros((max([e for _, _, e in notes], default=0), KEYS), np.float32)
    for n, s, e in notes:
        roll[s:e, n - LOWEST] = 1
    return roll


def plot_roll(roll, path, title: str = "") -> Path:
    """Save a piano-roll picture (time → right, pitch ↑) as PNG."""
    from ..viz import new_figure
    from ..viz import save_figure as save
    roll = np.asarray(roll)
    used = np.flatnonzero(roll.any(0))
    lo, hi = (used.min() - 2, used.max() + 3) if used.size else (0, KEYS)
    fig, ax = new_figure((8, 3.5))
    ax = ax[0, 0]
    ax.imshow(roll[:, lo:hi].T, origin="lower", aspect="auto", cmap="Greys", interpolation="none",
              extent=(-0.5, len(roll) - 0.5, lo + LOWEST - 0.5, hi + LOWEST - 0.5))
    ax.set_xlabel("step (quarter notes)")
    ax.set_ylabel("MIDI note")
    ax.set_title(title)
    return save(fig, path)


@dataclasses.dataclass
class MusicRecipe(TaskRecipe):
    """Keys of ``recipes/music.toml``.

    Args:
        task: ``"music"`` (tells ``glassnet train`` which app reads the recipe).
        data: ``""`` (the JSB Chorales of the shared data folder at ``resolution``), a
            chorale JSON file (``{"train", "valid", "test"}`` lists of pieces, each a list of
            steps of MIDI notes), or a folder of MIDI files (split 80/10/10 by file, seeded,
            unless it has ``train/``, ``valid/``, ``test/`` folders); see
            :mod:`glassnet.apps.music_data`.
        resolution: ``"quarter"`` (the Boulanger-Lewandowski version), ``"8th"`` or ``"16th"``.
        hidden, num_layers, dropout: :class:`MusicLSTM` sizes.
        epochs, batch_size, lr, clip: Adam with gradient-norm clipping; the weights with the
            best validation NLL are kept.
        weight_decay: L2 penalty of Adam (0 = none).
        plateau: halve the lr after this many epochs without a better validation NLL
            (``ReduceLROnPlateau``; 0 = constant lr).
        patience: stop after this many epochs without a better validation NLL (0 = run all
            ``epochs``).
        sample_steps, temperature: the generated chorale written to ``sample.mid``/``.png``.
        max_pieces: use only the first k pieces of each split (0 = all; tests).
        seed: weights, batch order and sampling.
        data_dir: folder holding ``music/`` (default: ``glassnet.runs.rundir.data_root``).
    """

    task: str = param("music", choices=("music",))
    data: str = ""
    resolution: str = param("quarter", choices=("quarter", "8th", "16th"))
    hidden: int = param(128, ge=1)
    num_layers: int = param(1, ge=1)
    dropout: float = param(0.3, ge=0, lt=1)
    epochs: int = param(60, ge=1)
    batch_size: int = param(16, ge=1)
    lr: float = param(0.003, gt=0)
    clip: float = param(1.0, gt=0)
    weight_decay: float = param(0.0, ge=0)
    plateau: int = param(0, ge=0)
    patience: int = param(0, ge=0)
    sample_steps: int = param(64, ge=1)
    temperature: float = param(1.0, gt=0)
    max_pieces: int = param(0, ge=0)
    seed: int = param(0, ge=0)
    data_dir: str | None = None


def train_music(recipe: MusicRecipe, run_dir, *, overwrite: bool = False,
                verbose: bool = True) -> dict:
    """Train :class:`MusicLSTM` through :func:`~glassnet.train.fit`, keep the best-validation
    weights, report test NLL, sample.

    Adam (gradient norm clipped by :class:`~glassnet.runs.common.ClipGradNorm`);
    :class:`~glassnet.train.EarlyStopping` on the validation NLL per frame keeps the best
    epoch's weights (and stops after ``patience`` epochs without improvement);
    ``ReduceLROnPlateau`` through :class:`~glassnet.train.LRSchedulerCallback` halves the lr
    after ``plateau`` epochs without improvement.

    ``run_dir`` gets ``recipe.toml``, ``metrics.jsonl`` (per epoch: fit's ``loss``,
    ``val_loss`` = validation nats per frame, ``lr``), ``weights.safetensors``, ``run.json``
    (valid/test nats per frame, timings, ``history`` per epoch), ``sample.mid`` and
    ``sample.png``.

    Example:
        >>> res = train_music(MusicRecipe(), "runs/music")
        >>> res["test_nll"]   # nats per frame
        8.4
    """
    rolls, source = load_rolls(recipe)
    run_dir = prepare_run_dir(run_dir, recipe, overwrite=overwrite)
    manual_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    model = MusicLSTM(recipe.hidden, recipe.num_layers, recipe.dropout)
    if verbose:
        print_header("music", source, {s: len(r) for s, r in rolls.items()}, model,
                     (max(len(r) for r in rolls["train"]), KEYS), unit="pieces")
    freq = np.clip(np.concatenate(rolls["train"]).mean(0), 1e-4, 1 - 1e-4)
    model.out.bias.array[...] = np.log(freq / (1 - freq))      # start at the key frequencies
    adam = optim.Adam(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    stop = EarlyStopping("val_loss", patience=recipe.patience or recipe.epochs + 1,
                         restore_best=True)
    callbacks = [stop, JSONLLogger(run_dir / "metrics.jsonl")]
    if recipe.plateau:
        callbacks.append(LRSchedulerCallback(optim.lr_scheduler.ReduceLROnPlateau(
            adam, factor=0.5, patience=recipe.plateau - 1)))
    start = time.perf_counter()
    history = fit(model, masked_frame_nll, ClipGradNorm(adam, recipe.clip),
                  PieceBatches(rolls["train"], recipe.batch_size, rng),
                  PieceBatches(rolls["valid"], 32, per_piece=True), epochs=recipe.epochs,
                  metrics=(), callbacks=callbacks, verbose=verbose)
    train_seconds = time.perf_counter() - start
    log = [{"epoch": e + 1, "train_nll": history["loss"][e], "valid_nll": history["val_loss"][e],
            "lr": history["lr"][e]} for e in range(len(history))]
    save_weights(model, run_dir / "weights.safetensors")
    roll = sample(model, recipe.sample_steps, seed=recipe.seed, temperature=recipe.temperature)
    roll_to_midi(roll, run_dir / "sample.mid")
    plot_roll(roll, run_dir / "sample.png", f"glassnet LSTM sample ({recipe.sample_steps} beats)")
    test_nll = evaluate_nll(model, rolls["test"])
    result = {"task": "music", "data": source, "test": {"nll_per_frame": test_nll},
              "baselines": music_baselines(rolls["train"], rolls["test"]),
              "valid_nll": stop.best, "best_epoch": stop.best_epoch + 1, "test_nll": test_nll,
              "test_frames": int(sum(len(r) for r in rolls["test"])),
              "train_seconds": round(train_seconds, 2), "history": log}
    write_run_json(run_dir, result)
    return result


def load_rolls(recipe: MusicRecipe) -> tuple[dict, str]:
    """``({"train", "valid", "test"}: lists of piano rolls, source)`` of the recipe's data,
    the first ``max_pieces`` of each part when set."""
    if not recipe.data:
        data = load_jsb(recipe.data_dir, recipe.resolution)
        rolls = {s: [to_roll(p) for p in data[s]] for s in ("train", "valid", "test")}
        source = f"JSB Chorales ({recipe.resolution})"
    else:
        path = resolve_data(recipe.data, recipe.data_dir)
        if path.is_dir():
            rolls = load_midi_folder(path, recipe.seed)
        elif path.suffix.lower() in (".mid", ".midi"):
            raise ValueError(f"data {path}: one MIDI file; give a folder of MIDI files (the "
                             f"pieces are split into train/valid/test)")
        elif path.is_file():
            rolls = read_chorale_json(path)
        else:
            raise FileNotFoundError(f"data {path}: no such file or folder (expected a folder "
                                    f"of MIDI files or a chorale JSON)")
        source = str(path)
    k = recipe.max_pieces or None
    return {s: r[:k] for s, r in rolls.items()}, source


def load_music_run(run_dir) -> tuple[MusicLSTM, MusicRecipe]:
    """``(model, recipe)`` of a finished music run, the model in eval mode."""
    run_dir = Path(run_dir)
    recipe = MusicRecipe.from_toml(run_dir / "recipe.toml")
    read_run_json(run_dir)
    model = MusicLSTM(recipe.hidden, recipe.num_layers, recipe.dropout)
    load_weights(model, run_dir / "weights.safetensors")
    return model.eval(), recipe


_train_task = app_trainer("music", train_music, lambda res, recipe: (
    f"validation {res['valid_nll']:.4g} (best epoch {res['best_epoch']} of "
    f"{len(res['history'])}), {res['train_seconds']:.0f} s training; sample.mid, sample.png"))


def _predict_cli(run_dir, args) -> str:
    """``glassnet predict RUN FILE.mid``: nats per frame of that piece under the model."""
    if not getattr(args, "file", None):
        raise ValueError("predict: give a MIDI file to score (nats per frame)")
    model, _ = load_music_run(run_dir)
    roll = read_midi(args.file)
    return json.dumps({"input": str(args.file), "frames": len(roll),
                       "nll_per_frame": evaluate_nll(model, [roll])})


register(Task(name="music", summary="polyphonic music: an LSTM over 88-key piano rolls",
              recipe=MusicRecipe, train=_train_task, predict=_predict_cli,
              formats="a folder of MIDI files (mido; optional train/ valid/ test/), a chorale "
                      "JSON {train, valid, test}, or nothing: the JSB Chorales"))

