r"""Unsupervised adaptation of a trained classifier to a new speaker by self-training
(pseudo-labels), for the isolated spoken-digit task (:mod:`glassnet.apps.speech`).

A new voice arrives with unlabelled recordings (the same ones that give its per-speaker
normalisation statistics). After the model has trained on the training speakers, each round

1. predicts the new speaker's recordings (eval mode, softmax probabilities p); with
   ``balance``, aligns them to a uniform class prior (:func:`align_to_uniform`),
2. keeps those whose top probability is at least ``threshold``: max_k p_k >= τ, each with
   its predicted class argmax_k p_k as the label (a pseudo-label),
3. fine-tunes the same model for ``epochs`` epochs on the training recordings plus the kept
   ones (Adam, learning rate ``lr`` decaying by cosine, batches of ``batch_size`` shuffled
   from ``seed`` and the round).

Then the model predicts the new speaker once more (aligned too, with ``balance``). No label
of the new speaker is read: the functions here never receive one (``train_speech`` reads
them afterwards, to score).

Alignment (``balance``) assumes the new voice's recordings cover the classes about equally,
as FSDD's do (50 of each digit per speaker) and as the training set does. It is the
distribution alignment of ReMixMatch (Berthelot et al. 2020: p̃ ∝ p · prior / mean p) iterated
to a fixed point, i.e. Sinkhorn's balancing of the (recordings × classes) matrix, as in the
balanced pseudo-labels of SeLa (Asano et al. 2020).

    >>> rounds = self_train(model, x_train, y_train, x_new, rounds=1, threshold=0.9,
    ...                     epochs=4, lr=0.001, batch_size=64, seed=0)
    >>> rounds[0]["kept"]          # how many of the new recordings were pseudo-labelled
"""
from __future__ import annotations

import numpy as np

from .. import nn, optim
from ..data import DataLoader, TensorDataset
from ..tensor import Tensor, manual_seed, no_grad
from ..train import LRSchedulerCallback, fit

__all__ = ["class_probabilities", "align_to_uniform", "confident", "self_train"]


def class_probabilities(model, x: np.ndarray, *, batch: int = 256) -> np.ndarray:
    """Softmax class probabilities of ``model`` in eval mode (left in train mode after).

    Shape:
        x: (N, ...) model inputs; output: (N, classes) float32 (N = 0: (0, 0)).
    """
    if len(x) == 0:
        return np.zeros((0, 0), np.float32)
    model.eval()
    with no_grad():
        logits = np.concatenate([model(Tensor(x[i:i + batch])).array.astype(np.float64)
                                 for i in range(0, len(x), batch)])
    model.train()
    p = np.exp(logits - logits.max(1, keepdims=True))
    return (p / p.sum(1, keepdims=True)).astype(np.float32)


def align_to_uniform(probs: np.ndarray, *, iters: int = 200, tol: float = 1e-7) -> np.ndarray:
    r"""Rescale each class's probabilities so that their mean over the rows is uniform:
    q_ik = p_ik·w_k / Σ_j p_ij·w_j with the class weights w chosen so that mean_i q_ik = 1/K
    (Sinkhorn iterations in float64: columns to mean 1/K, rows to sum 1, until the column
    means are within ``tol`` of 1/K or after ``iters`` rounds).

    Shape:
        probs: (N, K) rows of class probabilities; output: (N, K) float64, rows sum to 1.

    Example:
        >>> align_to_uniform(np.array([[0.9, 0.1], [0.6, 0.4]])).mean(0)
        array([0.5, 0.5])
    """
    q = np.asarray(probs, np.float64)
    if q.ndim != 2 or not len(q):
        raise ValueError(f"align_to_uniform(probs): expected (N, classes) probabilities with "
                         f"N >= 1, got shape {q.shape}")
    q = np.maximum(q, 1e-30)
    q = q / q.sum(1, keepdims=True)
    k = q.shape[1]
    for _ in range(iters):
        if np.abs(q.mean(0) - 1.0 / k).max() < tol:
            break
        q = q / (q.mean(0, keepdims=True) * k)
        q = q / q.sum(1, keepdims=True)
    return q


def confident(probs: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The rows whose top probability is at least ``threshold``, and their predicted class.

    Shape:
        probs: (N, classes); output: (indices (K,), labels (K,)), both int64, K <= N.

    Example:
        >>> confident(np.array([[0.95, 0.05], [0.6, 0.4], [0.1, 0.9]]), 0.9)
        (array([0, 2]), array([0, 1]))
    """
    probs = np.asarray(probs)
    if probs.ndim != 2:
        raise ValueError(f"confident(probs): expected (N, classes) probabilities, got shape "
                         f"{probs.shape}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"confident(threshold={threshold!r}): expected a probability in "
                         f"[0, 1]")
    idx = np.flatnonzero(probs.max(1) >= threshold) if len(probs) else np.zeros(0, np.int64)
    return idx.astype(np.int64), probs[idx].argmax(1).astype(np.int64)


def self_train(model, x_train: np.ndarray, y_train: np.ndarray, x_new: np.ndarray, *,
               rounds: int, threshold: float, epochs: int, lr: float, batch_size: int,
               seed: int, balance: bool = False) -> list[dict]:
    """Adapt ``model`` (in place) to the unlabelled recordings ``x_new`` by ``rounds``
    rounds of pseudo-labelling and fine-tuning (see the module docstring).

    Deterministic from ``seed``: dropout draws from ``manual_seed(seed)``, round r's batches
    are shuffled with seed ``seed + r``.

    Args:
        model: a trained classifier (``model(x)`` -> (N, classes) logits).
        x_train, y_train: the labelled training inputs and their labels.
        x_new: the new speaker's inputs (no labels).
        rounds: pseudo-label / fine-tune rounds (0: the model is left as it is).
        threshold: τ, keep a recording when its top probability is >= τ.
        epochs, lr, batch_size: each round's fine-tuning (Adam, cosine decay over ``epochs``).
        seed: dropout and shuffling.
        balance: pseudo-label from :func:`align_to_uniform` of the probabilities.

    Shape:
        x_train: (N, ...), y_train: (N,), x_new: (M, ...) like x_train.

    Returns:
        One record per round: ``{"round", "kept", "kept_index" (indices into x_new),
        "pseudo_labels", "loss" (the last epoch's training loss)}``.
    """
    if len(x_train) != len(y_train):
        raise ValueError(f"self_train: expected one label per training input, got "
                         f"{len(y_train)} labels for {len(x_train)} inputs")
    if x_new.shape[1:] != x_train.shape[1:]:
        raise ValueError(f"self_train(x_new): expected inputs shaped like x_train "
                         f"(M, {', '.join(map(str, x_train.shape[1:]))}), got {x_new.shape}")
    manual_seed(seed)
    out = []
    for r in range(rounds):
        p = class_probabilities(model, x_new)
        keep, pseudo = confident(align_to_uniform(p) if balance else p, threshold)
        x = np.concatenate([x_train, x_new[keep]])
        y = np.concatenate([np.asarray(y_train, np.int64), pseudo])
        opt = optim.Adam(model.parameters(), lr=lr)
        sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
        history = fit(model, nn.CrossEntropyLoss(), opt,
                      DataLoader(TensorDataset(x, y), batch_size, shuffle=True, seed=seed + r),
                      epochs=epochs, verbose=False, callbacks=[LRSchedulerCallback(sched)])
        out.append({"round": r + 1, "kept": int(len(keep)), "kept_index": keep,
                    "pseudo_labels": pseudo, "loss": float(history.to_dict()["loss"][-1])})
    return out
