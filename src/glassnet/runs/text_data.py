r"""Labelled sentences for the ``text_classification`` task: readers, tokenizer, vocabulary,
padded batches.

Readers (:func:`load_labelled_texts`):

- a CSV or TSV file with a header row, a text column and a label column (delimiter from the
  suffix ``.csv`` / ``.tsv``, otherwise sniffed from the first lines);
- a folder of text files, one per class: each non-empty line is one sample and the class is
  the file's stem (``pos.txt`` → ``pos``); when the files share one stem
  (``rt-polarity.pos``, ``rt-polarity.neg``) the class is the suffix (``pos``, ``neg``).

Files are decoded as UTF-8, falling back to latin-1 for a file that is not valid UTF-8 (the
polarity data is latin-1); the reader reports which files fell back.

Tokenizer (:func:`tokenize`): lower-case, then the regular expression
``\w+(?:['’-]\w+)*|[^\w\s]``: words (letters, digits, ``_``) with inner apostrophes or hyphens
kept (``don't``, ``co-writer``), and every other non-space character as a token of its own.
"""
from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import numpy as np

from ..data import Dataset
from ..tensor import Tensor

__all__ = ["read_text", "load_labelled_texts", "tokenize", "Vocabulary", "PaddedTexts",
           "collate_padded"]

TOKEN = re.compile(r"\w+(?:['’-]\w+)*|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Lower-cased word and punctuation tokens (see the module docstring).

    Example:
        >>> tokenize("Don't panic -- it's co-written!")
        ["don't", 'panic', '-', '-', "it's", 'co-written', '!']
    """
    return TOKEN.findall(text.lower())


def read_text(path: Path) -> tuple[str, str]:
    """``(text, encoding)``: UTF-8 (a leading BOM dropped), else latin-1."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def load_labelled_texts(path, text_column: str = "text", label_column: str = "label"):
    """``(texts, labels, notes)`` from a CSV/TSV file or a folder of one file per class.

    ``labels`` are strings; ``notes`` lists what the reader decided (e.g. a latin-1 fallback).
    Errors name the file (and line) that is malformed.
    """
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    if not path.is_file():
        raise FileNotFoundError(f"data {path}: no such file or folder")
    return _read_table(path, text_column, label_column)


def _read_folder(folder: Path):
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if len(files) < 2:
        raise ValueError(f"data {folder}: expected one text file per class (at least 2), "
                         f"found {len(files)}")
    stems = [p.stem for p in files]
    shared = len(set(stems)) < len(stems)
    names = [p.suffix.lstrip(".") if shared else p.stem for p in files]
    if len(set(names)) < len(names) or not all(names):
        raise ValueError(f"data {folder}: class names from the file names are not distinct: "
                         f"{[p.name for p in files]}")
    texts, labels, notes = [], [], []
    for p, name in zip(files, names):
        text, enc = read_text(p)
        if enc != "utf-8":
            notes.append(f"{p.name}: not UTF-8, read as latin-1")
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        if not lines:
            raise ValueError(f"data {p}: no samples (empty file)")
        texts += lines
        labels += [name] * len(lines)
    return texts, labels, notes


def _read_table(path: Path, text_column: str, label_column: str):
    text, enc = read_text(path)
    notes = [f"{path.name}: not UTF-8, read as latin-1"] if enc != "utf-8" else []
    suffix = path.suffix.lower()
    if suffix in (".tsv", ".tab"):
        delimiter = "\t"
    elif suffix == ".csv":
        delimiter = ","
    else:
        try:
            delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",\t;|").delimiter
        except csv.Error:
            raise ValueError(f"data {path}: cannot tell the delimiter (name the file .csv or "
                             f".tsv)") from None
        notes.append(f"{path.name}: delimiter {delimiter!r} (sniffed)")
    rows = csv.reader(text.splitlines(), delimiter=delimiter)
    header = next(rows, None)
    if not header:
        raise ValueError(f"data {path}: empty file")
    header = [h.strip() for h in header]
    for key, col in (("text_column", text_column), ("label_column", label_column)):
        if col not in header:
            raise ValueError(f"data {path}:1: {key} {col!r} is not in the header {header}")
    ti, li = header.index(text_column), header.index(label_column)
    texts, labels = [], []
    for line, row in enumerate(rows, start=2):
        if not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise ValueError(f"data {path}:{line}: expected {len(header)} fields as in the "
                             f"header, got {len(row)}")
        if not row[ti].strip() or not row[li].strip():
            empty = text_column if not row[ti].strip() else label_column
            raise ValueError(f"data {path}:{line}: empty {empty!r}")
        texts.append(row[ti].strip())
        labels.append(row[li].strip())
    if not texts:
        raise ValueError(f"data {path}: no rows after the header")
    return texts, labels, notes


class Vocabulary:
    """Token ↔ id: 0 is padding, 1 an unknown token, then the tokens seen at least
    ``min_count`` times in the training texts, sorted.

    Example:
        >>> v = Vocabulary.build([["a", "b"], ["a"]], min_count=2)
        >>> v.itos, v.encode(["a", "zzz"])
        (['<pad>', '<unk>', 'a'], [2, 1])
    """

    def __init__(self, itos: list[str]):
        self.itos = list(itos)
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    @classmethod
    def build(cls, token_lists, min_count: int = 2) -> Vocabulary:
        counts = Counter(t for tokens in token_lists for t in tokens)
        return cls(["<pad>", "<unk>"] + sorted(w for w, c in counts.items() if c >= min_count))

    def __len__(self):
        return len(self.itos)

    def encode(self, tokens) -> list[int]:
        return [self.stoi.get(t, 1) for t in tokens]


class PaddedTexts(Dataset):
    """Samples ``(ids, label)`` of encoded texts, cut to ``max_len`` tokens; batch them with
    :func:`collate_padded`."""

    def __init__(self, encoded: list[list[int]], labels: np.ndarray, max_len: int):
        self.encoded, self.labels, self.max_len = encoded, labels, max_len

    def __len__(self):
        return len(self.encoded)

    def __getitem__(self, i):
        return self.encoded[i][:self.max_len], int(self.labels[i])


def collate_padded(samples):
    """``((ids, lengths), labels)``: ids (B, L) int64 padded with 0 to the longest sample of
    the batch (an empty text is one unknown token), lengths (B,) int64, labels (B,) int64."""
    seqs = [s[0] or [1] for s in samples]
    lengths = np.array([len(s) for s in seqs], np.int64)
    ids = np.zeros((len(seqs), lengths.max()), np.int64)
    for r, s in enumerate(seqs):
        ids[r, :len(s)] = s
    return (Tensor(ids), lengths), Tensor(np.array([s[1] for s in samples], np.int64))
