"""The character-level LSTM language model and its sampler, shared by the ``text_generation``
task (:mod:`glassnet.runs.text_generation`) and the runs of the older ``text`` app
(:mod:`glassnet.apps.text`).
"""
from __future__ import annotations

import numpy as np

from .. import nn
from ..tensor import Tensor, no_grad

__all__ = ["CharLSTM", "sample"]


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
