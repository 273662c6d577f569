"""Baselines of the translation task, scored like the model (corpus BLEU on the same test).

- ``copy_source``: the source sentence itself as the translation (names, numbers and
  punctuation survive; a floor any model must clear).
- ``word_by_word``: each source token replaced by the target token it is most associated with
  in the training pairs (Dice coefficient of sentence co-occurrence, ties to the more
  frequent target token); a token never seen in training is copied.
"""
from __future__ import annotations

from collections import Counter

__all__ = ["word_table", "word_by_word", "bleu", "translation_baselines"]


def word_table(pairs) -> dict[str, str]:
    """``{source token: target token}`` maximising Dice = 2·c(s, t) / (c(s) + c(t)) over the
    training ``pairs`` of token lists (counts are of sentences holding the token)."""
    cs, ct, cst = Counter(), Counter(), Counter()
    for src, tgt in pairs:
        s, t = set(src), set(tgt)
        cs.update(s)
        ct.update(t)
        cst.update((a, b) for a in s for b in t)
    best: dict[str, tuple] = {}
    for (a, b), n in cst.items():
        key = (2 * n / (cs[a] + ct[b]), ct[b], b)
        if a not in best or key > best[a]:
            best[a] = key
    return {a: k[2] for a, k in best.items()}


def word_by_word(table: dict, src) -> list[str]:
    return [table.get(tok, tok) for tok in src]


def bleu(hyps, test) -> float:
    """sacrebleu corpus BLEU of token-list ``hyps`` against ``test`` = [(src, [refs…])],
    detokenised like :func:`glassnet.apps.translation_train.corpus_bleu`."""
    import sacrebleu

    from .translation import detokenize
    most = max(len(r) for _, r in test)
    streams = [[detokenize(r[k]) if k < len(r) else None for _, r in test] for k in range(most)]
    return sacrebleu.corpus_bleu([detokenize(h) for h in hyps], streams).score


def translation_baselines(train, test) -> dict:
    table = word_table(train)
    return {"copy_source": {"bleu": round(bleu([s for s, _ in test], test), 2)},
            "word_by_word": {"bleu": round(bleu([word_by_word(table, s) for s, _ in test],
                                                test), 2)}}
