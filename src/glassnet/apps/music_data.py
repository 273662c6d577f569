"""The music task's data and baselines: piano rolls from the user's files.

Readers (errors name the file, and the line for JSON):

- the chorale JSON (``{"train": [...], "valid": [...], "test": [...]}``, each piece a list of
  time steps, each a list of the MIDI notes sounding), like ``jsb-chorales-quarter.json``;
- a folder of MIDI files (``*.mid``/``*.midi``, read with mido, one step per beat; drums on
  channel 10 and notes outside the piano are left out), split by file into train/valid/test
  (seeded, 10% + 10%), or with ``train/``, ``valid/`` and ``test/`` sub-folders.

Baselines (nats per frame on the same test frames as the model, first frame included):

- ``independent_bernoulli``: every key on with its training frame frequency, independently;
- ``repeat_last_frame``: each key repeats the previous frame's state with the per-key
  probabilities of keeping / starting a note counted on the training frames (a zero frame
  stands before the first), i.e. the last frame copied, with learnt uncertainty.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["read_chorale_json", "read_midi", "load_midi_folder", "split_files",
           "bernoulli_nll", "markov_nll", "music_baselines", "MIDI_SUFFIXES"]

LOWEST, KEYS = 21, 88
MIDI_SUFFIXES = (".mid", ".midi")
SPLITS = ("train", "valid", "test")


def read_chorale_json(path) -> dict[str, list[np.ndarray]]:
    """``{"train", "valid", "test"}`` lists of piano rolls (T, 88) from a chorale JSON file."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text (expected the chorale JSON)") from None
    if not isinstance(data, dict) or any(s not in data for s in SPLITS):
        raise ValueError(f"{path}: expected an object with lists 'train', 'valid' and 'test' "
                         f"of pieces, got {type(data).__name__} with keys "
                         f"{sorted(data) if isinstance(data, dict) else '-'}")
    rolls = {}
    for split in SPLITS:
        rolls[split] = []
        for i, piece in enumerate(data[split]):
            where = f"{path}: {split}[{i}]"
            if not isinstance(piece, list) or not piece:
                raise ValueError(f"{where}: expected a non-empty list of time steps")
            roll = np.zeros((len(piece), KEYS), np.float32)
            for t, notes in enumerate(piece):
                if not isinstance(notes, list) or not all(
                        isinstance(n, (int, float)) and not isinstance(n, bool) for n in notes):
                    raise ValueError(f"{where} step {t}: expected a list of MIDI note numbers, "
                                     f"got {notes!r}")
                for n in notes:
                    if not LOWEST <= int(n) < LOWEST + KEYS:
                        raise ValueError(f"{where} step {t}: MIDI note {n} is outside the piano "
                                         f"(21..108)")
                    roll[t, int(n) - LOWEST] = 1.0
            rolls[split].append(roll)
        if not rolls[split]:
            raise ValueError(f"{path}: '{split}' holds no pieces")
    return rolls


def read_midi(path) -> np.ndarray:
    """A MIDI file as a piano roll (T, 88), one step per beat (mido)."""
    try:
        import mido
    except ImportError:
        raise ImportError("MIDI files need mido: pip install 'glassnet[audio]'") from None
    try:
        mid = mido.MidiFile(path)
    except (OSError, EOFError, ValueError, KeyError, IndexError) as e:
        raise ValueError(f"midi {path}: cannot be read ({e})") from None
    step, now, notes, start = max(mid.ticks_per_beat, 1), 0, [], {}
    for msg in mido.merge_tracks(mid.tracks):
        now += msg.time
        if msg.type not in ("note_on", "note_off") or msg.channel == 9:
            continue
        if msg.type == "note_on" and msg.velocity > 0:
            start.setdefault(msg.note, now)
        elif msg.note in start:
            s = start.pop(msg.note)
            if LOWEST <= msg.note < LOWEST + KEYS:
                notes.append((msg.note, s // step, max(now // step, s // step + 1)))
    if not notes:
        raise ValueError(f"midi {path}: no notes on the piano keys (21..108)")
    roll = np.zeros((max(e for _, _, e in notes), KEYS), np.float32)
    for n, s, e in notes:
        roll[s:e, n - LOWEST] = 1
    return roll


def _midi_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in MIDI_SUFFIXES)


def split_files(n: int, seed: int) -> dict[str, np.ndarray]:
    """Seeded split of n pieces into train / valid / test (10% + 10%, at least one each)."""
    if n < 3:
        raise ValueError(f"need at least 3 pieces to split into train/valid/test, got {n}")
    perm = np.random.default_rng(seed).permutation(n)
    k = max(1, round(0.1 * n))
    return {"test": perm[:k], "valid": perm[k:2 * k], "train": perm[2 * k:]}


def load_midi_folder(folder, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """Piano rolls of a folder of MIDI files: its ``train/``, ``valid/``, ``test/`` folders,
    or all its files split by :func:`split_files`."""
    folder = Path(folder)
    if all((folder / s).is_dir() for s in SPLITS):
        out = {}
        for s in SPLITS:
            files = _midi_files(folder / s)
            if not files:
                raise ValueError(f"data {folder / s}: no MIDI files ({', '.join(MIDI_SUFFIXES)})")
            out[s] = [read_midi(f) for f in files]
        return out
    files = _midi_files(folder)
    if not files:
        raise ValueError(f"data {folder}: no MIDI files ({', '.join(MIDI_SUFFIXES)}) and no "
                         f"train/ valid/ test/ folders")
    rolls = [read_midi(f) for f in files]
    try:
        parts = split_files(len(rolls), seed)
    except ValueError as e:
        raise ValueError(f"data {folder}: {e}") from None
    return {s: [rolls[i] for i in sorted(idx)] for s, idx in parts.items()}


def bernoulli_nll(train, test) -> float:
    """Nats per test frame of independent keys on with their training frame frequencies."""
    p = np.clip(np.concatenate(train).astype(np.float64).mean(0), 1e-4, 1 - 1e-4)
    frames = np.concatenate(test).astype(np.float64)
    return float(-(frames @ np.log(p) + (1 - frames) @ np.log1p(-p)).mean())


def _shifted(rolls):
    """(previous frame, frame) pairs of all pieces, a zero frame before each first frame."""
    prev = np.concatenate([np.vstack([np.zeros((1, KEYS), np.float32), r[:-1]]) for r in rolls])
    return prev.astype(bool), np.concatenate(rolls).astype(bool)


def markov_nll(train, test) -> float:
    """Nats per test frame when each key keeps or changes its previous state with the
    training probabilities P(on | was on), P(on | was off) (add-one smoothing)."""
    prev, cur = _shifted(train)
    on_on = ((prev & cur).sum(0) + 1) / (prev.sum(0) + 2)
    off_on = ((~prev & cur).sum(0) + 1) / ((~prev).sum(0) + 2)
    prev, cur = _shifted(test)
    p = np.where(prev, on_on, off_on)
    ll = np.where(cur, np.log(p), np.log1p(-p))
    return float(-ll.sum(1).mean())


def music_baselines(train, test) -> dict:
    return {"independent_bernoulli": {"nll_per_frame": bernoulli_nll(train, test)},
            "repeat_last_frame": {"nll_per_frame": markov_nll(train, test)}}
