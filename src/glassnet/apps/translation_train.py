"""Training and evaluation for :mod:`glassnet.apps.translation` (recipe, loop, BLEU).

    glassnet train recipes/translation.toml --out runs/translation
    python examples/translate.py --recipe recipes/translation.toml --out runs/translation

A translation recipe is a TOML file with ``task = "translation"`` and the keys of
:class:`TranslationRecipe`. Training is teacher forcing: the decoder reads ``<s> y_1 … y_T``
and is scored (cross-entropy, padding ignored) on ``y_1 … y_T </s>``. Batches group sentences
of similar source length (less padding); the batch order is shuffled every epoch. After
training, corpus BLEU (sacrebleu, 13a tokenisation, lower-cased text, every translation of a
held-out source as a reference) is computed on the held-out split, greedy and with beam search.
"""
from __future__ import annotations

import dataclasses
import json
import math
import time
import tomllib
from pathlib import Path

import numpy as np

from .. import nn, optim
from ..io import atomic_write_text
from ..runs import Task, TaskRecipe, register, write_run_json
from ..runs.rundir import resolve_data
from ..tensor import manual_seed, no_grad
from ._run import read_recipe
from .translation import (ENG_PREFIXES, PAD, Seq2Seq, Translator, Vocab, default_data_path,
                          detokenize, load_pairs, pad_batch, split_pairs)
from .translation_baselines import translation_baselines

__all__ = ["TranslationRecipe", "train_translation", "corpus_bleu", "batches", "train_step",
           "mean_loss", "recipe_task", "cmd_train", "cmd_translate", "add_commands", "COMMANDS"]


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

    task: str = "translation"
    data: str | None = None
    eng_prefixes: bool | None = None
    max_len: int = 10
    test_fraction: float = 0.1
    min_count: int = 2
    emb: int = 128
    hidden: int = 256
    dropout: float = 0.2
    epochs: int = 20
    batch_size: int = 64
    lr: float = 2e-3
    clip: float = 1.0
    minutes: float = 0.0
    beam: int = 5
    seed: int = 0
    limit: int = 0

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is None and "None" in f.type:
                continue
            want = f.type.split(" ")[0]
            ok = {"int": isinstance(v, int) and not isinstance(v, bool),
                  "bool": isinstance(v, bool),
                  "float": isinstance(v, (int, float)) and not isinstance(v, bool),
                  "str": isinstance(v, str)}[want]
            if not ok:
                raise ValueError(f"translation recipe: {f.name} = {v!r} should be {want}")
        rules = [("task", self.task == "translation", "'translation'"),
                 ("test_fraction", 0 < self.test_fraction < 1, "in (0, 1)"),
                 ("dropout", 0 <= self.dropout < 1, "in [0, 1)"),
                 ("lr", self.lr > 0, "> 0"), ("clip", self.clip > 0, "> 0"),
                 ("minutes", self.minutes >= 0, ">= 0"), ("limit", self.limit >= 0, ">= 0"),
                 ("seed", self.seed >= 0, ">= 0")]
        rules += [(k, getattr(self, k) >= 1, ">= 1") for k in
                  ("max_len", "min_count", "emb", "hidden", "epochs", "batch_size", "beam")]
        for name, ok, rule in rules:
            if not ok:
                raise ValueError(f"translation recipe: {name} = {getattr(self, name)!r} "
                                 f"should be {rule}")

    @classmethod
    def from_toml(cls, path) -> "TranslationRecipe":
        """Read a recipe file; unknown keys are refused by name."""
        return read_recipe(cls, path)


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


def _loss(model, src, lengths, tgt_in, tgt_out):
    logits = model(src, lengths, tgt_in)
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                       tgt_out.reshape(-1), ignore_index=PAD)


def train_step(model, opt, batch, clip: float = 1.0) -> float:
    """One teacher-forced update on ``batch`` (from :func:`batches`); returns the loss."""
    model.train()
    loss = _loss(model, *batch)
    opt.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    return loss.item()


@no_grad()
def mean_loss(model, pairs, batch_size: int = 256) -> float:
    """Teacher-forced cross-entropy per target token (nats) over id ``pairs``."""
    model.eval()
    total = count = 0.0
    for batch in batches(pairs, batch_size):
        n = float((batch[3] != PAD).sum())
        total, count = total + _loss(model, *batch).item() * n, count + n
    return total / count


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


def _log(verbose, msg):
    if verbose:
        print(msg, flush=True)


def train_translation(recipe: TranslationRecipe, run_dir, *, verbose: bool = True) -> dict:
    """Train, save into ``run_dir`` and report held-out loss, BLEU and example translations.

    Returns:
        the contents of ``run_dir/results.json``: sizes, ``history`` (per-epoch train and
        held-out loss), ``bleu_greedy``, ``bleu_beam``, ``train_seconds``, ``examples``.

    Example:
        >>> res = train_translation(TranslationRecipe(epochs=1, limit=500), "runs/mt-smoke")
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(run_dir / "recipe.toml", "".join(
        f"{k} = {json.dumps(v)}\n" for k, v in dataclasses.asdict(recipe).items()
        if v is not None))
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
    opt = optim.Adam(model.parameters(), lr=recipe.lr)
    rng = np.random.default_rng(recipe.seed)
    _log(verbose, f"{len(train)} training pairs, {len(test)} held-out sources "
                  f"({len(test_ids)} pairs); vocab en {len(src_vocab)}, fr {len(tgt_vocab)}; "
                  f"{model.num_parameters()} parameters")
    history, start, out_of_time = [], time.perf_counter(), False
    for epoch in range(1, recipe.epochs + 1):
        losses = []
        for batch in batches(train_ids, recipe.batch_size, rng):
            losses.append(train_step(model, opt, batch, recipe.clip))
            if not math.isfinite(losses[-1]):
                raise FloatingPointError(f"translation: loss became {losses[-1]} in epoch "
                                         f"{epoch}")
            elapsed = time.perf_counter() - start
            if recipe.minutes and elapsed > recipe.minutes * 60:
                out_of_time = True
                break
        history.append({"epoch": epoch, "train_loss": round(float(np.mean(losses)), 4),
                        "test_loss": round(mean_loss(model, test_ids), 4),
                        "seconds": round(time.perf_counter() - start, 1)})
        _log(verbose, json.dumps(history[-1]))
        if out_of_time:
            _log(verbose, f"stopping: the {recipe.minutes} minute cap was reached")
            break
    seconds = time.perf_counter() - start
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
    _log(verbose, f"held-out corpus BLEU: greedy {bleu_greedy:.2f}, beam {recipe.beam} "
                  f"{bleu_beam:.2f} ({len(test)} sources; trained {seconds:.0f} s)")
    return result


# -- command line (registered in glassnet.cli) ---------------------------------------------------
def recipe_task(path):
    """The ``task`` key of a recipe TOML file, or ``None`` (missing file, bad TOML, no key)."""
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8")).get("task")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None


def cmd_train(args) -> int:
    """``glassnet train RECIPE.toml`` for a recipe with ``task = "translation"``."""
    bad = [f"--{k}" for k in ("model", "dataset", "optimizer", "resume")
           if getattr(args, k, None)]
    if bad:
        raise ValueError(f"{args.recipe}: a translation recipe does not take {', '.join(bad)}")
    recipe = TranslationRecipe.from_toml(args.recipe)
    for key in ("epochs", "batch_size", "lr", "seed"):
        if getattr(args, key, None) is not None:
            setattr(recipe, key, getattr(args, key))
    if getattr(args, "data_dir", None):
        recipe.data = str(Path(args.data_dir) / "fra-eng.zip")
    recipe.__post_init__()
    run_dir = Path(args.out or f"runs/{Path(args.recipe).stem}-{time.strftime('%Y%m%d-%H%M%S')}")
    if (run_dir / "recipe.toml").exists() and not args.overwrite:
        raise ValueError(f"--out {run_dir}: already holds a run; replace it with --overwrite "
                         f"or choose another --out")
    res = train_translation(recipe, run_dir, verbose=not args.quiet)
    print(f"held-out BLEU greedy {res['bleu_greedy']:.2f}, beam {recipe.beam} "
          f"{res[f'bleu_beam{recipe.beam}']:.2f} ({res['epochs_run']} epochs, "
          f"{res['train_seconds']:.0f} s training)")
    print(f"run written to {run_dir}")
    return 0


def _train_task(recipe, run_dir, *, overwrite=False, verbose=True, data_dir=None) -> dict:
    """The ``translation`` task of glassnet.runs: ``glassnet train recipes/translation.toml``."""
    if recipe.data:
        recipe = dataclasses.replace(recipe, data=str(resolve_data(recipe.data, data_dir)))
    elif data_dir:
        here = Path(data_dir) / "fra-eng.zip"
        recipe = dataclasses.replace(recipe, data=str(
            here if here.is_file() else Path(data_dir) / "translation" / "fra-eng.zip"))
    run_dir = Path(run_dir)
    if ((run_dir / "recipe.toml").exists() or (run_dir / "run.json").exists()) \
            and not overwrite:
        raise ValueError(f"--out {run_dir}: already holds a run; replace it with --overwrite "
                         f"or choose another --out")
    res = train_translation(recipe, run_dir, verbose=verbose)
    base = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["baselines"]
    print(f"held-out BLEU greedy {res['bleu_greedy']:.2f}, beam {recipe.beam} "
          f"{res[f'bleu_beam{recipe.beam}']:.2f} (baselines: copy source "
          f"{base['copy_source']['bleu']:.2f}, word by word {base['word_by_word']['bleu']:.2f}; "
          f"{res['epochs_run']} epochs, {res['train_seconds']:.0f} s training)")
    print(f"run written to {run_dir}")
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
