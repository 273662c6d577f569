r"""English → French translation: a GRU encoder–decoder with Luong attention.

Data: the Tatoeba/manythings ``fra-eng.zip`` (``fra.txt``: ``English<TAB>French`` per line),
read straight from the zip. As in the PyTorch seq2seq tutorial, only short pairs (≤ ``max_len``
tokens) whose English side starts with "i am", "he is", "you are", … (and their contractions)
are kept: about 11k pairs, small enough to train on two CPU cores. Text is lower-cased and cut
into words and punctuation (accents kept). The held-out split is made over *distinct English
sentences*, so no test source is seen in training; every French translation of a test source
is a reference for BLEU.

Model (shape letters: N batch, S source length, T target length, E embedding, H hidden,
V target vocabulary)::

    encoder:  Embedding → bidirectional GRU            memory m (N, S, 2H)
    bridge:   h_0 = tanh(W_b [h_fwd; h_bwd])             (1, N, H)
    decoder:  Embedding → GRU                            d_t (N, T, H)
    attention ("general"): score(t, s) = d_t · W_a m_s, padded s masked;
              α = softmax_s(score);  c_t = Σ_s α_ts m_s  (N, T, 2H)
    output:   h̃_t = tanh(W_c [d_t; c_t]);  logits = W_o h̃_t   (N, T, V)

Attention is applied after the decoder GRU (no input feeding), so teacher-forced training runs
the decoder over all T steps as one fused GRU op. Decoding (greedy or beam search) runs the same
layers one step at a time.

A run directory holds ``config.json`` (model sizes and data options), ``vocab_src.json`` and
``vocab_tgt.json`` (token lists), ``weights.safetensors`` and ``results.json``.
"""
from __future__ import annotations

import json
import os
import re
import unicodedata
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

from .. import nn, ops
from ..io import load_weights, save_weights
from ..tensor import Tensor, no_grad

__all__ = ["tokenize", "detokenize", "load_pairs", "split_pairs", "default_data_path", "Vocab",
           "Seq2Seq", "greedy_decode", "beam_search", "Translator", "ENG_PREFIXES",
           "pad_batch", "PAD", "SOS", "EOS", "UNK"]

PAD, SOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>"]
ENG_PREFIXES = ("i am", "i ' m", "he is", "he ' s", "she is", "she ' s", "you are", "you ' re",
                "we are", "we ' re", "they are", "they ' re")
_TOKEN = re.compile(r"\w+|[^\w\s]")


# -- text ---------------------------------------------------------------------------------------
def tokenize(text: str) -> list[str]:
    """Lower-case, NFC-normalise and split into words and single punctuation marks.

    Example:
        >>> tokenize("I'm cold.")
        ['i', "'", 'm', 'cold', '.']
    """
    return _TOKEN.findall(unicodedata.normalize("NFC", text).lower())


def detokenize(tokens) -> str:
    """Join tokens into text: no space around apostrophes and hyphens, none before . , ) …

    Example:
        >>> detokenize(['j', "'", 'ai', 'froid', '.'])
        "j'ai froid."
    """
    s = " ".join(tokens)
    s = re.sub(r" ?' ?", "'", s)
    s = re.sub(r" ?- ?", "-", s)
    return re.sub(r" ([.,)])", r"\1", s)


def default_data_path() -> Path:
    """``$GLASSNET_DATA/translation/fra-eng.zip``, else the repository's sibling
    ``shared/data/translation/fra-eng.zip``."""
    root = os.environ.get("GLASSNET_DATA")
    base = Path(root) if root else Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
    return base / "translation" / "fra-eng.zip"


def load_pairs(path=None, *, max_len: int = 10, prefixes=ENG_PREFIXES, limit=None):
    """Read (English tokens, French tokens) pairs from ``fra-eng.zip`` (or a ``fra.txt``), or
    (source, target) pairs from any UTF-8 TSV file of lines ``source<TAB>target`` (further
    columns, e.g. Tatoeba's attribution, are ignored; blank lines are skipped).

    Args:
        path: the zip, or a TSV text file; default :func:`default_data_path`.
        max_len: keep pairs whose both sides have at most this many tokens.
        prefixes: keep pairs whose tokenised English starts with one of these strings
            (``None`` or empty: keep all).
        limit: stop after this many kept pairs (for tests).

    Returns:
        list of ``(en_tokens, fr_tokens)`` in file order (roughly short to long).
    """
    path = Path(path) if path is not None else default_data_path()
    if not path.is_file():
        raise FileNotFoundError(f"translation data {path}: no such file (set GLASSNET_DATA or "
                                f"pass the path of fra-eng.zip)")
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                text = z.read("fra.txt").decode("utf-8")
        else:
            text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        line = (path.read_bytes()[:e.start].count(b"\n") + 1) if path.suffix != ".zip" else "?"
        raise ValueError(f"{path}: line {line}: not UTF-8 text ({e.reason})") from None
    pre = tuple(p + " " for p in prefixes or ())
    pairs = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0].strip() or not fields[1].strip():
            raise ValueError(f"{path}: line {n}: expected 'source<TAB>target' (a sentence "
                             f"pair), got {line[:80]!r}")
        en, fr = tokenize(fields[0]), tokenize(fields[1])
        if len(en) > max_len or len(fr) > max_len or not en or not fr:
            continue
        if pre and not (" ".join(en) + " ").startswith(pre):
            continue
        pairs.append((en, fr))
        if limit and len(pairs) >= limit:
            break
    return pairs


def split_pairs(pairs, test_fraction: float = 0.1, *, seed: int = 0):
    """Split by distinct source sentence: no test source appears in training.

    Returns:
        ``(train_pairs, test)`` where ``test`` is a list of ``(src_tokens, [ref_tokens, …])``,
        every translation of a held-out source as one reference.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"split_pairs(test_fraction={test_fraction}): expected 0 < f < 1")
    refs: dict[tuple, list] = {}
    for en, fr in pairs:
        refs.setdefault(tuple(en), []).append(fr)
    sources = list(refs)
    order = np.random.default_rng(seed).permutation(len(sources))
    n_test = max(1, int(round(len(sources) * test_fraction)))
    held = {sources[i] for i in order[:n_test]}
    train = [(en, fr) for en, fr in pairs if tuple(en) not in held]
    test = [(list(s), refs[s]) for s in sources if s in held]
    return train, test


class Vocab:
    """Token ↔ id table; ids 0–3 are ``<pad> <s> </s> <unk>``.

    Args:
        tokens: the vocabulary, specials first (use :meth:`build` to make one from text).

    Example:
        >>> v = Vocab.build([["i", "am", "cold", "."]], min_count=1)
        >>> v.decode(v.encode(["i", "am", "hot"]))
        ['i', 'am', '<unk>']
    """

    def __init__(self, tokens):
        self.itos = list(tokens)
        if self.itos[:4] != SPECIALS:
            raise ValueError(f"Vocab(tokens): expected the specials {SPECIALS} first, got "
                             f"{self.itos[:4]}")
        self.stoi = {t: i for i, t in enumerate(self.itos)}

    @classmethod
    def build(cls, sentences, min_count: int = 1) -> "Vocab":
        """Tokens seen at least ``min_count`` times, most frequent first (ties by text)."""
        counts = Counter(t for s in sentences for t in s)
        kept = sorted((t for t, c in counts.items() if c >= min_count),
                      key=lambda t: (-counts[t], t))
        return cls(SPECIALS + kept)

    def __len__(self):
        return len(self.itos)

    def encode(self, tokens) -> list[int]:
        """Ids of ``tokens``; unknown tokens map to ``<unk>``."""
        return [self.stoi.get(t, UNK) for t in tokens]

    def decode(self, ids) -> list[str]:
        """Tokens of ``ids`` up to the first ``</s>``; ``<pad>``/``<s>`` are dropped."""
        out = []
        for i in ids:
            if i == EOS:
                break
            if i not in (PAD, SOS):
                out.append(self.itos[i])
        return out

    def save(self, path) -> None:
        """Write the token list as JSON (read it back with :meth:`load`)."""
        Path(path).write_text(json.dumps(self.itos, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path) -> "Vocab":
        """Read a vocabulary written by :meth:`save`."""
        return cls(json.loads(Path(path).read_text(encoding="utf-8")))


def pad_batch(seqs, *, sos=False, eos=False):
    """Right-pad id lists with PAD into (N, L) int64; optionally add ``<s>``/``</s>``.

    Returns ``(ids, lengths)``.
    """
    seqs = [([SOS] if sos else []) + list(s) + ([EOS] if eos else []) for s in seqs]
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    ids = np.full((len(seqs), int(lengths.max())), PAD, dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = s
    return ids, lengths


# -- model --------------------------------------------------------------------------------------
class Seq2Seq(nn.Module):
    """GRU encoder–decoder with Luong ("general") attention; see the module docstring.

    Args:
        src_vocab, tgt_vocab: vocabulary sizes.
        emb: embedding size E. hidden: GRU size H. dropout: on embeddings and h̃ (training).

    Shape:
        ``forward(src (N, S) int, src_lengths (N,), tgt_in (N, T) int) → logits (N, T, V)``.

    Example:
        >>> m = Seq2Seq(100, 120, emb=32, hidden=64)
        >>> m(np.ones((2, 5), np.int64), np.array([5, 3]), np.ones((2, 4), np.int64)).shape
        (2, 4, 120)
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, *, emb: int = 128, hidden: int = 256,
                 dropout: float = 0.1):
        super().__init__()
        self.config = dict(src_vocab=src_vocab, tgt_vocab=tgt_vocab, emb=emb, hidden=hidden,
                           dropout=dropout)
        self.src_emb = nn.Embedding(src_vocab, emb, padding_idx=PAD)
        self.tgt_emb = nn.Embedding(tgt_vocab, emb, padding_idx=PAD)
        self.encoder = nn.GRU(emb, hidden, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * hidden, hidden)
        self.decoder = nn.GRU(emb, hidden, batch_first=True)
        self.attn = nn.Linear(2 * hidden, hidden, bias=False)       # W_a
        self.combine = nn.Linear(3 * hidden, hidden)                # W_c
        self.out = nn.Linear(hidden, tgt_vocab)                     # W_o
        self.drop = nn.Dropout(dropout)

    def encode(self, src, lengths):
        """Run the encoder. Returns ``(memory, keys, mask, h_0)``: memory (N, S, 2H), keys
        W_a·memory (N, S, H), mask (N, 1, S) additive (−1e9 at padding), h_0 (1, N, H)."""
        src = np.asarray(src)
        lengths = np.asarray(lengths, dtype=np.int64)
        if src.ndim != 2 or src.dtype.kind not in "iu" or lengths.shape != (src.shape[0],):
            raise ValueError(f"Seq2Seq.encode: expected src (N, S) integer ids and lengths "
                             f"(N,), got {src.shape} {src.dtype} and {lengths.shape}")
        memory, h_n = self.encoder(self.drop(self.src_emb(src)), lengths=lengths)
        h0 = ops.tanh(self.bridge(ops.cat([h_n[0], h_n[1]], -1)))
        mask = np.where(np.arange(src.shape[1])[None, None, :] < lengths[:, None, None],
                        0.0, -1e9).astype(np.float32)
        return memory, self.attn(memory), Tensor(mask), ops.unsqueeze(h0, 0)

    def decode(self, tgt_in, state, memory, keys, mask):
        """Decoder over ``tgt_in`` (N, T) from ``state`` (1, N, H). Returns (logits, state)."""
        d, state = self.decoder(self.drop(self.tgt_emb(np.asarray(tgt_in))), state)
        alpha = ops.softmax(ops.matmul(d, ops.transpose(keys, 1, 2)) + mask, -1)   # (N, T, S)
        context = ops.matmul(alpha, memory)                                          # (N, T, 2H)
        h = ops.tanh(self.combine(ops.cat([d, context], -1)))
        return self.out(self.drop(h)), state

    def forward(self, src, src_lengths, tgt_in):
        """Teacher-forced logits (N, T, V) for decoder inputs ``tgt_in`` (N, T)."""
        memory, keys, mask, h0 = self.encode(src, src_lengths)
        return self.decode(tgt_in, h0, memory, keys, mask)[0]


def _rows(t: Tensor, idx) -> Tensor:
    return Tensor(t.array[idx])


@no_grad()
def greedy_decode(model: Seq2Seq, src, lengths, max_len: int = 12) -> list[list[int]]:
    """Pick the most likely next token at every step, for a batch (N, S) of sources.

    Returns one id list per sentence, without ``<s>``, stopped before ``</s>``.
    """
    was = model.training
    model.eval()
    memory, keys, mask, state = model.encode(src, lengths)
    N = memory.shape[0]
    tok = np.full((N, 1), SOS, np.int64)
    out, done = [[] for _ in range(N)], np.zeros(N, bool)
    for _ in range(max_len):
        logits, state = model.decode(tok, state, memory, keys, mask)
        tok = logits.array[:, -1].argmax(-1)[:, None]
        for i in np.nonzero(~done)[0]:
            if tok[i, 0] == EOS:
                done[i] = True
            else:
                out[i].append(int(tok[i, 0]))
        if done.all():
            break
    model.train(was)
    return out


@no_grad()
def beam_search(model: Seq2Seq, src_ids, *, beam: int = 5, max_len: int = 12,
                length_penalty: float = 1.0) -> list[int]:
    """Beam search for one source sentence (a list of ids).

    Each step extends every live hypothesis by every token and keeps the ``beam`` best by
    total log-probability; a hypothesis that emits ``</s>`` is finished. Search stops when
    ``beam`` hypotheses are finished (or after ``max_len`` steps); the best finished one by
    ``score / (length + 1) ** length_penalty`` wins. With ``beam=1`` this is greedy decoding.

    Returns:
        the id list (no ``<s>``/``</s>``).
    """
    if not isinstance(beam, int) or beam < 1:
        raise ValueError(f"beam_search(beam={beam!r}): expected an integer >= 1")
    was = model.training
    model.eval()
    memory, keys, mask, state = model.encode(np.asarray([src_ids]), [len(src_ids)])
    live, finished = [([], 0.0)], []
    tok = np.array([[SOS]], np.int64)
    for _ in range(max_len):
        k = len(live)
        zero = np.zeros(k, np.int64)
        logits, state = model.decode(tok, state, _rows(memory, zero), _rows(keys, zero),
                                     _rows(mask, zero))
        z = logits.array[:, -1].astype(np.float64)
        logp = z - z.max(-1, keepdims=True)
        logp -= np.log(np.exp(logp).sum(-1, keepdims=True))
        total = (np.array([s for _, s in live])[:, None] + logp).ravel()
        best = np.argsort(-total, kind="stable")[:beam]
        nxt, parents = [], []
        for idx in best:
            b, w = divmod(int(idx), logp.shape[1])
            if w == EOS:
                finished.append((live[b][0], float(total[idx])))
            else:
                nxt.append((live[b][0] + [w], float(total[idx])))
                parents.append(b)
        if len(finished) >= beam or not nxt:
            break
        live, state = nxt, _rows(state, (slice(None), parents))
        tok = np.array([[seq[-1]] for seq, _ in live], np.int64)
    else:
        finished += live
    model.train(was)
    return max(finished, key=lambda c: c[1] / (len(c[0]) + 1) ** length_penalty)[0]


class Translator:
    """A trained model with its vocabularies: ``translate(text)``, ``save(dir)``, ``load(dir)``.

    Args:
        model: a :class:`Seq2Seq`. src_vocab, tgt_vocab: :class:`Vocab`.
        max_len: longest output, in tokens.

    Example:
        >>> tr = Translator.load("runs/translation")
        >>> tr.translate("I am cold.", beam=5)
        "j'ai froid."
    """

    def __init__(self, model: Seq2Seq, src_vocab: Vocab, tgt_vocab: Vocab, *, max_len: int = 12):
        self.model, self.src_vocab, self.tgt_vocab = model, src_vocab, tgt_vocab
        self.max_len = max_len

    def translate_tokens(self, tokens, *, beam: int = 1) -> list[str]:
        """Translate one tokenised sentence; ``beam=1`` is greedy."""
        ids = self.src_vocab.encode(tokens) or [UNK]
        if beam == 1:
            out = greedy_decode(self.model, np.asarray([ids]), [len(ids)], self.max_len)[0]
        else:
            out = beam_search(self.model, ids, beam=beam, max_len=self.max_len)
        return self.tgt_vocab.decode(out)

    def translate(self, text: str, *, beam: int = 1) -> str:
        """Translate an English sentence to French text (lower-case)."""
        return detokenize(self.translate_tokens(tokenize(text), beam=beam))

    def translate_batch(self, sentences, *, beam: int = 1, batch_size: int = 256):
        """Translate many tokenised sentences (batched when greedy); returns token lists."""
        if beam != 1:
            return [self.translate_tokens(s, beam=beam) for s in sentences]
        out = []
        for i in range(0, len(sentences), batch_size):
            ids = [self.src_vocab.encode(s) or [UNK] for s in sentences[i:i + batch_size]]
            src, lengths = pad_batch(ids)
            out += [self.tgt_vocab.decode(o)
                    for o in greedy_decode(self.model, src, lengths, self.max_len)]
        return out

    def save(self, run_dir) -> None:
        """Write config.json, vocab_src.json, vocab_tgt.json and weights.safetensors."""
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        cfg = {"model": self.model.config, "max_len": self.max_len}
        (run_dir / "config.json").write_text(json.dumps(cfg, indent=1), encoding="utf-8")
        self.src_vocab.save(run_dir / "vocab_src.json")
        self.tgt_vocab.save(run_dir / "vocab_tgt.json")
        save_weights(self.model, run_dir / "weights.safetensors")

    @classmethod
    def load(cls, run_dir) -> "Translator":
        """Rebuild a saved translator (model in eval mode)."""
        run_dir = Path(run_dir)
        for name in ("config.json", "vocab_src.json", "vocab_tgt.json", "weights.safetensors"):
            if not (run_dir / name).is_file():
                raise FileNotFoundError(f"{run_dir / name}: missing (not a translation run "
                                        f"directory)")
        cfg = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))
        model = Seq2Seq(**cfg["model"])
        load_weights(model, run_dir / "weights.safetensors")
        model.eval()
        return cls(model, Vocab.load(run_dir / "vocab_src.json"),
                   Vocab.load(run_dir / "vocab_tgt.json"), max_len=cfg["max_len"])
