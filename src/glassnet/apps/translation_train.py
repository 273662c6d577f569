"""Training and evaluation for :mod:`glassnet.apps.translation` (recipe, loop, BLEU).

    glassnet train recipes/translation.toml --out runs/translation
    python examples/translate.py --recipe recipes/translation.toml --out runs/translation

A translation recipe is a TOML file with ``task = "translation"`` and the keys of
:class:`TranslationRecipe`. Training is teacher forcing: the decoder reads ``<s> y_1 … y_T``
and is scored (cross-entropy, padding ignored) on ``y_1 … y_T </s>``. Batches group sentences
of similar source length (less padding); the batch order is shuffled every epoch. After
training, corpus BLEU (sacrebleu, 13a tokenisation, lower-cased text, every translation of a
held-out source as a reference) is computed on the held-out split, greedy and with beam search.

Training goes through :func:`glassnet.train.fit`: :class:`PairBatches` yields
``((src, lengths, tgt_in), tgt_out)``, :class:`TeacherForced` feeds the tuple to the
:class:`~glassnet.apps.translation.Seq2Seq`, gradients are clipped by
:class:`~glassnet.runs.common.ClipGradNorm` and ``minutes`` is fit's ``max_seconds``. After
each epoch fit reports the loss per target token on the held-out pairs (``val_loss``, recorded
as ``test_loss``): a curve to watch, nothing is chosen on it.
"""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np

from .. import nn, optim
from ..io import atomic_write_text
from ..runs import Task, TaskRecipe, register, write_run_json
from ..runs.common import ClipGradNorm, print_header, print_result
from ..runs.recipe import param
from ..runs.rundir import prepare_run_dir, resolve_data
from ..tensor import Tensor, manual_seed, no_grad
from ..train import evaluate, fit
from .translation import (ENG_PREFIXES, PAD, Seq2Seq, Translator, Vocab, default_data_path,
                          detokenize, load_pairs, pad_batch, split_pairs)
from .translation_baselines import translation_baselines

__all__ = ["TranslationRecipe", "train_translation", "corpus_bleu", "batches", "PairBatches",
           "TeacherForced", "token_nll", "mean_loss", "cmd_translate",
           "add_commands", "COMMANDS"]


@dataclasses.dataclass
class TranslationRecipe(TaskRecipe):
    """Every setting of a translation run (the keys of ``recipes/translation.toml``).

    Args:
        task: must be ``"translation"``.
        data: path of ``fra-eng.zip`` (``None``: ``$GLASSNET_DATA`` or ``../shared/data``), or
            of a UTF-8 TSV file of sentence pairs ``source<TAB>target``.
        eng_prefixes: keep only English sources starting "i am", "he is", ... (the Tatoeba
            benchmark filter); ``None``: on for ``fra-eng.zip``, off for other files.
        max_len: longest sentence kept, in tokens, both sides (also the decoding limit + 2).
        test_fraction: share of distinct English sentences held out.
        min_count: tokens seen fewer times in training become ``<unk>``.
        emb, hidden, dropout: model sizes (see :class:`~glassnet.apps.translation.Seq2Seq`).
        epochs, batch_size, lr, clip: Adam with gradient-norm clipping.
        minutes: wall-clock cap; training stops after the step that passes it (0 = none).
        beam: beam width for the beam-search BLEU.
        seed: weights, split, batch order and dropout.
        limit: use only the first ``limit`` kept pairs (0 = all; for quick tests).
    """

    task: str = param("translation", choices=("translation",))
    data: str | None = None
    eng_prefixes: bool | None = None
    max_len: int = param(10, ge=1)
    test_fraction: float = param(0.1, gt=0, lt=1)
    min_count: int = param(2, ge=1)
    emb: int = param(128, ge=1)
    hidden: int = param(256, ge=1)
    dropout: float = param(0.2, ge=0, lt=1)
    epochs: int = param(20, ge=1)
    batch_size: int = param(64, ge=1)
    lr: float = param(2e-3, gt=0)
    clip: float = param(1.0, gt=0)
    minutes: float = param(0.0, ge=0)
    beam: int = param(5, ge=1)
    seed: int = param(0, ge=0)
    limit: int = param(0, ge=0)


def batches(pairs, batch_size: int, rng=None):
    """Yield ``(src_ids, src_lengths, tgt_in, tgt_out)`` batches of id pairs.

    Pairs are sorted by source length and cut into batches; ``rng`` shuffles the batch order.
    """
    order = sorted(range(len(pairs)), key=lambda i: (len(pairs[i][0]), len(pairs[i][1])))
    chunks = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    if rng is not None:
        rng.shuffle(chunks)
    for chunk in chunks:
        src, lengths = pad_batch([pairs[i][0] for i in chunk])
        tgt_in, _ = pad_batch([pairs[i][1] for i in chunk], sos=True)
        tgt_out, _ = pad_batch([pairs[i][1] for i in chunk], eos=True)
        yield src, lengths, tgt_in, tgt_out


class PairBatches:
    """The batches of :func:`batches` for :func:`~glassnet.train.fit`: ``((src, lengths,
    tgt_in), target)``, the batch order reshuffled by ``rng`` on every pass.

    ``target`` is ``tgt_out`` (training: the loss is the mean over the batch's target tokens),
    or with ``per_sentence=True`` ``(tgt_out, tokens)``, ``tokens`` = the batch's sentences
    times the mean target tokens per sentence of all ``pairs``, so that fit's mean over
    sentences is exactly the loss per target token of the whole set.
    """

    def __init__(self, pairs, batch_size: int, rng=None, *, per_sentence: bool = False):
        self.pairs, self.batch_size, self.rng = pairs, batch_size, rng
        self.tokens_per_sentence = (sum(len(t) + 1 for _, t in pairs) / len(pairs)
                                    if per_sentence else None)

    def __len__(self):
        return -(-len(self.pairs) // self.batch_size)

    def __iter__(self):
        for src, lengths, tgt_in, tgt_out in batches(self.pairs, self.batch_size, self.rng):
            target = (tgt_out if self.tokens_per_sentence is None
                      else (tgt_out, len(src) * self.tokens_per_sentence))
            yield (src, lengths, tgt_in), target


class TeacherForced(nn.Module):
    """``forward((src, lengths, tgt_in))`` = ``seq2seq(src, lengths, tgt_in)``: the one-input
    form :func:`~glassnet.train.fit` calls (its weights are those of ``seq2seq``).

    Shape:
        src (N, S) int, lengths (N,), tgt_in (N, T) int → logits (N, T, V).
    """

    def __init__(self, seq2seq: Seq2Seq):
        super().__init__()
        self.seq2seq = seq2seq

    def forward(self, inputs):
        return self.seq2seq(*inputs)


def token_nll(logits, target) -> Tensor:
    """Cross-entropy per target token (padding ignored); ``target`` is ``tgt_out`` (N, T) or
    ``(tgt_out, tokens)``: the summed loss divided by ``tokens`` (see :class:`PairBatches`)."""
    tgt_out, tokens = target if isinstance(target, tuple) else (target, None)
    flat = logits.reshape(-1, logits.shape[-1])
    y = np.asarray(tgt_out).reshape(-1)
    if tokens is None:
        return nn.functional.cross_entropy(flat, y, ignore_index=PAD)
    return nn.functional.cross_entropy(flat, y, ignore_index=PAD, reduction="sum") / tokens


@no_grad()
def mean_loss(model, pairs, batch_size: int = 256) -> float:
    """Teacher-forced cross-entropy per target token (nats) over id ``pairs``."""
    data = PairBatches(pairs, batch_size, per_sentence=True)
    return evaluate(TeacherForced(model), data, token_nll, metrics=())["loss"]


def corpus_bleu(translator: Translator, test, *, beam: int = 1) -> tuple[float, list]:
    """sacrebleu corpus BLEU of ``translator`` on ``test`` = [(src_tokens, [refs…])].

    Returns ``(bleu, hypotheses)``; hypotheses and references are detokenised lower-case text,
    scored with sacrebleu's default 13a tokenisation and every reference of a source.
    """
    import sacrebleu
    hyps = [detokenize(h) for h in translator.translate_batch([s for s, _ in test], beam=beam)]
    most = max(len(r) for _, r in test)
    streams = [[detokenize(r[k]) if k < len(r) else None for _, r in test] for k in range(most)]
    return sacrebleu.corpus_bleu(hyps, streams).score, hyps


def train_translation(recipe: TranslationRecipe, run_dir, *, overwrite: bool = False,
                      verbose: bool = True) -> dict:
    """Train through :func:`~glassnet.train.fit`, save into ``run_dir`` and report held-out
    loss, BLEU and example translations.

    Returns:
        the contents of ``run_dir/results.json``: sizes, ``history`` (per-epoch train and
        held-out loss), ``bleu_greedy``, ``bleu_beam``, ``train_seconds``, ``examples``.

    Example:
        >>> res = train_translation(TranslationRecipe(epochs=1, limit=500), "runs/mt-smoke")
    """
    run_dir = prepare_run_dir(run_dir, recipe, overwrite=overwrite)
    manual_seed(recipe.seed)
    path = Path(recipe.data) if recipe.data else default_data_path()
    prefixes = recipe.eng_prefixes if recipe.eng_prefixes is not None \
        else path.suffix.lower() == ".zip"
    pairs = load_pairs(path, max_len=recipe.max_len, limit=recipe.limit or None,
                       prefixes=ENG_PREFIXES if prefixes else None)
    if len({tuple(e) for e, _ in pairs}) < 2:
        raise ValueError(f"{path}: {len(pairs)} sentence pairs of at most {recipe.max_len} "
                         f"tokens{' with the English prefixes' if prefixes else ''}; need "
                         f"pairs with at least 2 distinct sources")
    train, test = split_pairs(pairs, recipe.test_fraction, seed=recipe.seed)
    src_vocab = Vocab.build([e for e, _ in train], recipe.min_count)
    tgt_vocab = Vocab.build([f for _, f in train], recipe.min_count)
    train_ids = [(src_vocab.encode(e), tgt_vocab.encode(f)) for e, f in train]
    test_ids = [(src_vocab.encode(s), tgt_vocab.encode(r)) for s, refs in test for r in refs]
    model = Seq2Seq(len(src_vocab), len(tgt_vocab), emb=recipe.emb, hidden=recipe.hidden,
                    dropout=recipe.dropout)
    translator = Translator(model, src_vocab, tgt_vocab, max_len=recipe.max_len + 2)
    opt = ClipGradNorm(optim.Adam(model.parameters(), lr=recipe.lr), recipe.clip)
    rng = np.random.default_rng(recipe.seed)
    if verbose:
        print_header("translation", path, {"train": len(train), "test": len(test)}, model,
                     unit=f"sources ({len(test_ids)} held-out pairs; vocabulary source "
                          f"{len(src_vocab)}, target {len(tgt_vocab)})")
    start = time.perf_counter()
    fitted = fit(TeacherForced(model), token_nll, opt,
                 PairBatches(train_ids, recipe.batch_size, rng),
                 PairBatches(test_ids, 256, per_sentence=True), epochs=recipe.epochs,
                 metrics=(), verbose=verbose,
                 max_seconds=recipe.minutes * 60 if recipe.minutes else None)
    seconds = time.perf_counter() - start
    history = [{"epoch": e + 1, "train_loss": round(fitted["loss"][e], 4),
                "test_loss": round(fitted["val_loss"][e], 4)} for e in range(len(fitted))]
    model.eval()
    translator.save(run_dir)
    t0 = time.perf_counter()
    bleu_greedy, hyps = corpus_bleu(translator, test)
    bleu_beam, hyps_beam = corpus_bleu(translator, test, beam=recipe.beam)
    examples = [{"en": detokenize(test[i][0]), "greedy": hyps[i],
                 f"beam{recipe.beam}": hyps_beam[i],
                 "references": [detokenize(r) for r in test[i][1]]}
                for i in range(0, len(test), max(1, len(test) // 12))][:12]
    result = {"train_pairs": len(train), "test_sources": len(test), "test_pairs": len(test_ids),
              "vocab_src": len(src_vocab), "vocab_tgt": len(tgt_vocab),
              "parameters": model.num_parameters(), "epochs_run": len(history),
              "train_seconds": round(seconds, 1), "history": history,
              "bleu_greedy": round(bleu_greedy, 2), f"bleu_beam{recipe.beam}": round(bleu_beam, 2),
              "decode_seconds": round(time.perf_counter() - t0, 1), "examples": examples}
    atomic_write_text(run_dir / "results.json", json.dumps(result, indent=1, ensure_ascii=False))
    write_run_json(run_dir, {
        "task": "translation", "data": str(path),
        "test": {"bleu_greedy": result["bleu_greedy"],
                 f"bleu_beam{recipe.beam}": result[f"bleu_beam{recipe.beam}"],
                 "loss": history[-1]["test_loss"] if history else None},
        "baselines": translation_baselines(train, test), **result})
    return result


# -- command line (registered in glassnet.cli) ---------------------------------------------------
def _train_task(recipe, run_dir, *, overwrite=False, verbose=True, data_dir=None) -> dict:
    """The ``translation`` task of glassnet.runs: ``glassnet train recipes/translation.toml``."""
    if recipe.data:
        recipe = dataclasses.replace(recipe, data=str(resolve_data(recipe.data, data_dir)))
    elif data_dir:
        here = Path(data_dir) / "fra-eng.zip"
        recipe = dataclasses.replace(recipe, data=str(
            here if here.is_file() else Path(data_dir) / "translation" / "fra-eng.zip"))
    res = train_translation(recipe, run_dir, overwrite=overwrite, verbose=verbose)
    if verbose:
        record = json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8"))
        print_result("translation", record["test"], record["baselines"], run_dir,
                     f"{res['epochs_run']} epochs, {res['train_seconds']:.0f} s training")
    return res


def _predict_cli(run_dir, args) -> str:
    """``glassnet predict RUN "sentence"``: the greedy translation."""
    if not getattr(args, "file", None):
        raise ValueError("predict: give a sentence to translate (or use glassnet translate)")
    return Translator.load(run_dir).translate(args.file)


register(Task(name="translation", summary="sentence translation: GRU encoder-decoder with "
              "attention", recipe=TranslationRecipe, train=_train_task, predict=_predict_cli,
              formats="a UTF-8 TSV file of sentence pairs source<TAB>target (further columns "
                      "ignored), or Tatoeba's fra-eng.zip (the default)"))


def add_commands(sub) -> None:
    """Add ``glassnet translate RUN_DIR SENTENCE…`` to an argparse subparsers object."""
    p = sub.add_parser("translate", help="translate English sentences to French with a run",
                       description="Translate each SENTENCE (English) with the model of a "
                       "translation run directory (glassnet train recipes/translation.toml).")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("sentences", nargs="+", metavar="SENTENCE")
    p.add_argument("--beam", type=int, default=1, help="beam width (default 1: greedy)")


def cmd_translate(args) -> int:
    """Print one French translation per input sentence."""
    if args.beam < 1:
        raise ValueError(f"--beam {args.beam}: expected an integer >= 1")
    translator = Translator.load(args.run_dir)
    for text in args.sentences:
        print(translator.translate(text, beam=args.beam))
    return 0


COMMANDS = {"translate": cmd_translate}
