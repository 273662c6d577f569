"""RNN/LSTM/GRU, the cells and Embedding→LSTM on each device vs the CPU run and PyTorch.

The same layer, weights and inputs run on ``device``; outputs, final states and every gradient
(input, initial states, each weight and bias, the embedding table) must equal the CPU numbers
and PyTorch's (float32 tolerance), with all of them left on the device. Variable lengths are
compared with ``pack_padded_sequence`` in PyTorch.
"""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from glassnet.nn.embedding import embedding_source

from _devhelpers import close, host, on

CASES = [  # mode, num_layers, bidirectional, batch_first, lengths, initial state
    ("LSTM", 1, False, True, False, False),
    ("LSTM", 2, True, False, True, True),
    ("LSTM", 2, False, True, True, False),
    ("GRU", 2, True, True, True, False),
    ("GRU", 1, False, False, False, True),
    ("RNN_TANH", 2, False, True, False, True),
    ("RNN_RELU", 1, True, False, True, False),
]
IDS = ["lstm", "lstm-2layer-bidir-lengths-state", "lstm-2layer-lengths",
       "gru-2layer-bidir-lengths", "gru-state", "rnn-2layer-state", "rnn_relu-bidir-lengths"]
L, N, H_IN, H = 5, 3, 4, 6
LENGTHS = np.array([5, 2, 4])


def _make(lib, mode, layers, bidir, batch_first):
    kw = dict(num_layers=layers, bidirectional=bidir, batch_first=batch_first)
    if mode.startswith("RNN"):
        return lib.nn.RNN(H_IN, H, nonlinearity=mode[4:].lower(), **kw)
    return getattr(lib.nn, mode)(H_IN, H, **kw)


def _inputs(case, seed=0):
    mode, layers, bidir, batch_first, _, _ = case
    K = layers * (2 if bidir else 1)
    rng = np.random.default_rng(seed)
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)   # noqa: E731
    seq = (N, L) if batch_first else (L, N)
    return {"x": f32(*seq, H_IN), "h0": f32(K, N, H) * 0.5, "c0": f32(K, N, H) * 0.5,
            "up_out": f32(*seq, K // layers * H), "up_h": f32(K, N, H), "up_c": f32(K, N, H)}


def _run(device, case):
    """Forward + backward of Σ out·U + h_n·U' (+ c_n·U'') on ``device``; host copies back."""
    mode, layers, bidir, batch_first, lengths, state = case
    a, lstm = _inputs(case), mode == "LSTM"
    gn.manual_seed(3)
    layer = _make(gn, mode, layers, bidir, batch_first).to(device)
    x = on(device, a["x"], grad=True)
    hx = None
    if state:
        hx = (on(device, a["h0"], True), on(device, a["c0"], True)) if lstm \
            else on(device, a["h0"], True)
    out, hn = layer(x, hx, lengths=LENGTHS if lengths else None)
    h, c = hn if lstm else (hn, None)
    loss = (out * on(device, a["up_out"])).sum() + (h * on(device, a["up_h"])).sum()
    if lstm:
        loss = loss + (c * on(device, a["up_c"])).sum()
    loss.backward()
    vals = {"out": out, "h_n": h} | ({"c_n": c} if lstm else {})
    grads = {"x": x} | dict(layer.named_parameters())
    if state:
        grads |= {"h0": hx[0], "c0": hx[1]} if lstm else {"h0": hx}
    for name, t in list(vals.items()) + [(k + ".grad", t.grad) for k, t in grads.items()]:
        assert t is not None, f"{name}: missing"
        assert t.device == device, f"{name} on {t.device}, expected {device}"
    weights = {k: host(v) for k, v in layer.named_parameters()}
    return ({k: host(v) for k, v in vals.items()},
            {k: host(t.grad) for k, t in grads.items()}, weights)


def _torch_run(case, weights):
    mode, layers, bidir, batch_first, lengths, state = case
    a, lstm = _inputs(case), mode == "LSTM"
    layer = _make(torch, mode, layers, bidir, batch_first)
    layer.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()})
    x = torch.tensor(a["x"], requires_grad=True)
    hx = None
    if state:
        h0, c0 = (torch.tensor(a[k], requires_grad=True) for k in ("h0", "c0"))
        hx = (h0, c0) if lstm else h0
    inp = x
    if lengths:
        inp = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(LENGTHS), batch_first,
                                                      enforce_sorted=False)
    out, hn = layer(inp, hx)
    if lengths:
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first, total_length=L)
    h, c = hn if lstm else (hn, None)
    loss = (out * torch.tensor(a["up_out"])).sum() + (h * torch.tensor(a["up_h"])).sum()
    if lstm:
        loss = loss + (c * torch.tensor(a["up_c"])).sum()
    loss.backward()
    vals = {"out": out, "h_n": h} | ({"c_n": c} if lstm else {})
    grads = {"x": x} | dict(layer.named_parameters())
    if state:
        grads |= {"h0": hx[0], "c0": hx[1]} if lstm else {"h0": hx}
    return {k: host(v) for k, v in vals.items()}, {k: host(t.grad) for k, t in grads.items()}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_recurrent_layer_matches_cpu_and_torch(device, case):
    want_vals, want_grads, weights = _run("cpu", case)
    vals, grads, _ = _run(device, case)
    t_vals, t_grads = _torch_run(case, weights)
    assert grads.keys() == want_grads.keys() == t_grads.keys()
    for name, want in want_vals.items():
        close(vals[name], want, 1e-5, 1e-5, f"{name} vs cpu")
        close(vals[name], t_vals[name], 1e-5, 1e-4, f"{name} vs torch")
    for name, want in want_grads.items():
        assert grads[name].dtype == np.float32, name
        close(grads[name], want, 1e-4, 1e-4, f"grad of {name} vs cpu")
        close(grads[name], t_grads[name], 1e-4, 1e-4, f"grad of {name} vs torch")


@pytest.mark.parametrize("ids_on_device", [True, False], ids=["ids-on-device", "ids-on-host"])
def test_embedding_lstm_shortcut_matches_torch(device, ids_on_device):
    """Embedding → LSTM takes the embedded-input path (V·4 ≤ L·N); the table's gradient
    comes out of the recurrent op and must match PyTorch's."""
    V, E, Hd = 5, 4, 6
    ids = np.random.default_rng(1).integers(0, V, (4, 9))
    ids[0, :3] = 0                                      # padding id present
    up = np.random.default_rng(2).standard_normal((4, 9, Hd)).astype(np.float32)
    gn.manual_seed(0)
    emb = nn.Embedding(V, E, padding_idx=0).to(device)
    lstm = nn.LSTM(E, Hd, batch_first=True).to(device)
    looked_up = emb(on(device, ids) if ids_on_device else gn.tensor(ids))
    assert embedding_source(looked_up) is not None and 4 * V <= ids.size
    out, (h, c) = lstm(looked_up)
    ((out * on(device, up)).sum() + h.sum() + (c * c).sum()).backward()

    t_emb, t_lstm = torch.nn.Embedding(V, E, padding_idx=0), torch.nn.LSTM(E, Hd,
                                                                          batch_first=True)
    t_emb.load_state_dict({"weight": torch.from_numpy(host(emb.weight))})
    t_lstm.load_state_dict({k: torch.from_numpy(host(v)) for k, v in lstm.named_parameters()})
    t_out, (t_h, t_c) = t_lstm(t_emb(torch.from_numpy(ids)))
    ((t_out * torch.from_numpy(up)).sum() + t_h.sum() + (t_c * t_c).sum()).backward()

    for name, got, want in (("out", out, t_out), ("h_n", h, t_h), ("c_n", c, t_c)):
        assert got.device == device, name
        close(host(got), host(want), 1e-5, 1e-4, name)
    pairs = [("embedding.weight", emb.weight, t_emb.weight)] + [
        (k, p, dict(t_lstm.named_parameters())[k]) for k, p in lstm.named_parameters()]
    for name, p, tp in pairs:
        assert p.grad is not None and p.grad.device == device, f"{name}: grad"
        close(host(p.grad), host(tp.grad), 1e-4, 1e-4, f"grad of {name}")
    assert not host(emb.weight.grad)[0].any()           # padding row: zero gradient


@pytest.mark.parametrize("cell", ["RNNCell", "LSTMCell", "GRUCell"])
def test_cells_match_cpu(device, cell):
    """One step with the zero state made on the input's device, then one with a given state."""
    x = np.random.default_rng(4).standard_normal((2, 3, H_IN)).astype(np.float32)
    res = {}
    for dev in ("cpu", device):
        gn.manual_seed(1)
        m = getattr(nn, cell)(H_IN, H).to(dev)
        xs = [on(dev, x[0], True), on(dev, x[1], True)]
        s = m(xs[0])                                    # hx=None: zeros on dev
        s = m(xs[1], s)
        loss = sum((t * t).sum() for t in (s if isinstance(s, tuple) else (s,)))
        loss.backward()
        outs = list(s) if isinstance(s, tuple) else [s]
        for t in outs + [xs[0].grad, m.weight_hh.grad]:
            assert t.device == dev
        res[dev] = [host(t) for t in outs + [xs[0].grad, xs[1].grad]] + \
            [host(p.grad) for p in m.parameters()]
    for got, want in zip(res[device], res["cpu"]):
        close(got, want, 1e-5, 1e-4)


def test_recurrent_mixed_devices_error():
    """Input on the fake device, layer on the CPU: an error naming the op and both devices."""
    x = on("fake", np.zeros((2, 3, 4), np.float32))
    with pytest.raises(RuntimeError, match=r"lstm\(\).*same device.*fake.*cpu"):
        nn.LSTM(4, 5, batch_first=True)(x)
    gru = nn.GRU(4, 5).to("fake")                       # initial state left on the host
    with pytest.raises(RuntimeError, match=r"gru\(\).*same device.*fake.*cpu"):
        gru(x, gn.zeros(1, 3, 5))
