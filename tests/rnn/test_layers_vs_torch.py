"""RNN/LSTM/GRU layers, cells and Embedding against PyTorch on the same weights."""
import numpy as np
import pytest
import torch

import glassnet as gn

from ._helpers import close, grads_close, pair, twin

KINDS = ["RNN", "LSTM", "GRU"]


def _loss_pieces(out, hn, rng_seed, lib):
    rng = np.random.default_rng(rng_seed)
    mk = (lambda a: gn.tensor(a)) if lib == "gn" else torch.from_numpy
    loss = (out * mk(rng.normal(size=out.shape).astype(np.float32))).sum()
    hs = hn if isinstance(hn, tuple) else (hn,)
    for h in hs:
        loss = loss + (h * mk(rng.normal(size=h.shape).astype(np.float32))).sum()
    return loss


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("num_layers,bidirectional,batch_first,with_h0", [
    (1, False, False, False), (1, False, True, True), (2, False, True, False),
    (1, True, False, True), (2, True, True, True), (2, True, False, False)])
def test_layer_matches_torch(kind, num_layers, bidirectional, batch_first, with_h0):
    L, N, Hin, H = 6, 3, 5, 7
    kw = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first)
    gl, tl = twin(kind, Hin, H, **kw)
    rng = np.random.default_rng(1)
    xs = (N, L, Hin) if batch_first else (L, N, Hin)
    xg, xt = pair(rng.normal(size=xs).astype(np.float32))
    hx_g = hx_t = None
    if with_h0:
        K = num_layers * (2 if bidirectional else 1)
        states = [pair(rng.normal(size=(K, N, H)).astype(np.float32)) for _ in range(2)]
        if kind == "LSTM":
            hx_g, hx_t = (states[0][0], states[1][0]), (states[0][1], states[1][1])
        else:
            hx_g, hx_t = states[0]
    og, hg = gl(xg, hx_g)
    ot, ht = tl(xt, hx_t)
    close(og, ot, what="output")
    for a, b in zip(hg if kind == "LSTM" else (hg,), ht if kind == "LSTM" else (ht,)):
        close(a, b, what="final state")
    _loss_pieces(og, hg, 2, "gn").backward()
    _loss_pieces(ot, ht, 2, "torch").backward()
    grads_close(gl, tl)
    close(xg.grad, xt.grad, what="input grad")
    if with_h0:
        for s in states[:2 if kind == "LSTM" else 1]:
            close(s[0].grad, s[1].grad, what="initial state grad")


@pytest.mark.parametrize("kind", KINDS)
def test_lengths_match_pack_padded_sequence(kind):
    L, N, Hin, H = 7, 4, 3, 5
    gl, tl = twin(kind, Hin, H, num_layers=2, bidirectional=True, batch_first=True)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N, L, Hin)).astype(np.float32)
    lengths = np.array([7, 3, 5, 1])
    x[1, 3:] = 99.0                                     # padding must not leak anywhere
    xg, xt = pair(x)
    og, hg = gl(xg, lengths=lengths)
    packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths),
                                                     batch_first=True, enforce_sorted=False)
    ot_p, ht = tl(packed)
    ot, _ = torch.nn.utils.rnn.pad_packed_sequence(ot_p, batch_first=True, total_length=L)
    close(og, ot, what="output")
    assert np.all(og.numpy()[1, 3:] == 0)
    for a, b in zip(hg if kind == "LSTM" else (hg,), ht if kind == "LSTM" else (ht,)):
        close(a, b, what="final state")
    _loss_pieces(og, hg, 4, "gn").backward()
    _loss_pieces(ot, ht, 4, "torch").backward()
    grads_close(gl, tl)
    close(xg.grad, xt.grad, what="input grad")
    assert np.all(xg.grad.numpy()[1, 3:] == 0)


@pytest.mark.parametrize("kind", ["RNNCell", "LSTMCell", "GRUCell"])
@pytest.mark.parametrize("with_state", [False, True])
def test_cell_matches_torch(kind, with_state):
    gl, tl = twin(kind, 4, 6)
    rng = np.random.default_rng(5)
    xg, xt = pair(rng.normal(size=(3, 4)).astype(np.float32))
    sg = st = None
    if with_state:
        ps = [pair(rng.normal(size=(3, 6)).astype(np.float32)) for _ in range(2)]
        sg, st = ((ps[0][0], ps[1][0]), (ps[0][1], ps[1][1])) if kind == "LSTMCell" else ps[0]
    hg, ht = gl(xg, sg), tl(xt, st)
    hg = hg if isinstance(hg, tuple) else (hg,)
    ht = ht if isinstance(ht, tuple) else (ht,)
    for a, b in zip(hg, ht):
        close(a, b)
    _loss_pieces(hg[0], hg[1:], 6, "gn").backward()
    _loss_pieces(ht[0], ht[1:], 6, "torch").backward()
    grads_close(gl, tl)
    close(xg.grad, xt.grad)


def test_rnn_relu_and_no_bias():
    gl, tl = twin("RNN", 3, 4, nonlinearity="relu", bias=False, num_layers=2)
    assert set(gl.state_dict()) == set(tl.state_dict())
    xg, xt = pair(np.random.default_rng(0).normal(size=(5, 2, 3)).astype(np.float32))
    og, hg = gl(xg)
    ot, ht = tl(xt)
    close(og, ot)
    close(hg, ht)
    og.sum().backward()
    ot.sum().backward()
    grads_close(gl, tl)


def test_unbatched_input():
    gl, tl = twin("GRU", 3, 4)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    og, hg = gl(gn.tensor(x))
    ot, ht = tl(torch.from_numpy(x))
    assert og.shape == (5, 4) and hg.shape == (1, 4)
    close(og, ot)
    close(hg, ht)


@pytest.mark.parametrize("padding_idx", [None, 0, -1])
def test_embedding_matches_torch(padding_idx):
    torch.manual_seed(0)
    te = torch.nn.Embedding(10, 4, padding_idx=padding_idx)
    ge = gn.nn.Embedding(10, 4, padding_idx=padding_idx)
    ge.load_state_dict({k: v.detach().numpy() for k, v in te.state_dict().items()})
    ids = np.array([[0, 3, 3, 9], [9, 1, 0, 3]])
    og, ot = ge(gn.tensor(ids)), te(torch.from_numpy(ids))
    close(og, ot)
    w = np.random.default_rng(0).normal(size=og.shape).astype(np.float32)
    (og * gn.tensor(w)).sum().backward()
    (ot * torch.from_numpy(w)).sum().backward()
    close(ge.weight.grad, te.weight.grad)
    if padding_idx is not None:
        fresh = gn.nn.Embedding(10, 4, padding_idx=padding_idx)
        assert np.all(fresh.weight.numpy()[padding_idx % 10] == 0)
        assert np.all(ge.weight.grad.numpy()[padding_idx % 10] == 0)


def test_default_init_range():
    gn.manual_seed(0)
    m = gn.nn.LSTM(8, 16)
    for _, p in m.named_parameters():
        assert p.dtype == np.float32
        assert np.abs(p.numpy()).max() <= 0.25 and np.abs(p.numpy()).max() > 0.2
    e = gn.nn.Embedding(100, 8, padding_idx=3)
    assert np.all(e.weight.numpy()[3] == 0) and abs(e.weight.numpy().std() - 1) < 0.2
