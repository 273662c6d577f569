"""Embedding → recurrent layer: the table-projection shortcut (EmbeddedInput) gives the same
values and gradients as projecting the looked-up rows."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.nn.embedding import embedding, embedding_source
from glassnet.ops.recurrent import EmbeddedInput, recurrent_layer

from ._helpers import close, twin

MODES = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]
G = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _kernel_inputs(mode, L=6, N=4, V=5, Hin=3, H=4, seed=0):
    rng = np.random.default_rng(seed)

    def t(*shape):
        return gn.tensor(rng.normal(0, 0.5, shape), requires_grad=True)     # float64
    ids = rng.integers(0, V, (L, N))
    ids[0, 0], ids[1, 0] = 2, 2               # a repeated id
    E, h0, c0 = t(V, Hin), t(N, H), t(N, H)
    w = [t(G[mode] * H, Hin), t(G[mode] * H, H), t(G[mode] * H), t(G[mode] * H)]
    return ids, E, h0, (c0 if mode == "LSTM" else None), w


def _loss(out, h, c, seed=1):
    rng = np.random.default_rng(seed)
    loss = (out * gn.tensor(rng.normal(size=out.shape))).sum()
    loss = loss + (h * gn.tensor(rng.normal(size=h.shape))).sum()
    if c is not None:
        loss = loss + (c * gn.tensor(rng.normal(size=c.shape))).sum()
    return loss


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("reverse,lengths,padding_idx", [(False, None, None),
                                                         (True, [6, 3, 5, 1], 2)])
def test_kernel_embedded_equals_gathered(mode, reverse, lengths, padding_idx):
    ids, E, h0, c0, w = _kernel_inputs(mode)
    params = [E, h0, c0, *w]
    grads, vals = [], []
    for fast in (True, False):
        for p in params:
            if p is not None:
                p.grad = None
        x = EmbeddedInput(ids, E, padding_idx) if fast else embedding(ids, E, padding_idx)
        out, h, c = recurrent_layer(mode, x, h0, c0, *w, lengths=lengths, reverse=reverse)
        _loss(out, h, c).backward()
        vals.append([a.numpy() for a in (out, h, c) if a is not None])
        grads.append([p.grad.numpy() for p in params if p is not None])
    for a, b in zip(vals[0] + grads[0], vals[1] + grads[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    if padding_idx is not None:
        assert np.all(grads[0][0][padding_idx] == 0)


def _graph_ops(out):
    """Names of the ops in the graph behind ``out``."""
    seen, stack, ops = set(), [out], set()
    while stack:
        t = stack.pop()
        if id(t) not in seen:
            seen.add(id(t))
            ops.add(t._op)
            stack.extend(p for p in t._parents if p is not None)
    return ops


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first,bidirectional", [(True, False), (False, True)])
def test_embedding_into_layer_matches_torch(kind, batch_first, bidirectional):
    torch.manual_seed(0)
    te = torch.nn.Embedding(7, 5, padding_idx=1)
    ge = gn.nn.Embedding(7, 5, padding_idx=1)
    ge.load_state_dict({k: v.detach().numpy() for k, v in te.state_dict().items()})
    gl, tl = twin(kind, 5, 6, num_layers=2, batch_first=batch_first,
                  bidirectional=bidirectional)
    ids = np.random.default_rng(0).integers(0, 7, (4, 9))         # 36 rows ≥ 4·V
    og = gl(ge(gn.tensor(ids)))[0]
    ot = tl(te(torch.from_numpy(ids)))[0]
    assert "EmbeddingBackward" not in _graph_ops(og)       # the shortcut was taken
    close(og, ot)
    wt = np.random.default_rng(1).normal(size=og.shape).astype(np.float32)
    (og * gn.tensor(wt)).sum().backward()
    (ot * torch.from_numpy(wt)).sum().backward()
    close(ge.weight.grad, te.weight.grad, what="embedding weight")
    tp = dict(tl.named_parameters())
    for name, p in gl.named_parameters():
        close(p.grad, tp[name].grad, what=name)


def test_retain_grad_or_large_vocab_takes_the_plain_path():
    ge = gn.nn.Embedding(7, 5)
    lstm = gn.nn.LSTM(5, 3)
    ids = np.random.default_rng(0).integers(0, 7, (8, 4))
    x = ge(gn.tensor(ids))
    assert embedding_source(x) is not None
    x.retain_grad()
    assert embedding_source(x) is None
    lstm(x)[0].sum().backward()
    assert x.grad is not None and x.grad.shape == (8, 4, 5)
    big = gn.nn.Embedding(100, 5)                       # 4·V > L·N: gathered rows are cheaper
    out = lstm(big(gn.tensor(ids)))[0]
    assert "EmbeddingBackward" in _graph_ops(out)
