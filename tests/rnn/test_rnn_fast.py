"""The compiled RNN, LSTM and GRU steps and time loops (ops/kernels/cells.c, loops.c) against
the float64 reference, the NumPy path and PyTorch: values and gradients, with lengths,
reverse, h0 = 0, an embedding input, saturated gates and NaN; float64 and kernels-off keep
the NumPy path."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet.ops import _fast
from glassnet.ops.recurrent import EmbeddedInput, recurrent_layer
from glassnet.ops.recurrent._common import prepare
from glassnet.ops.recurrent_ref import recurrent_layer_reference

pytest.importorskip("cffi", reason="the compiled kernels need cffi (glassnet[fast])")
_fast.use(True)
if _fast.kernels() is None:
    pytest.skip(f"no compiled kernels here: {_fast.status()['why']}", allow_module_level=True)


MODES = ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"]
GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


@pytest.fixture(autouse=True)
def fast_on():
    _fast.use(True)
    yield
    _fast.use(True)


def _arrays(L=7, N=4, Hin=5, H=9, seed=0, scale=0.5, zero_h0=False, mode="LSTM"):
    """x, h0, c0, w_ih, w_hh, b_ih, b_hh (c0 None for GRU) as float64 arrays."""
    rng = np.random.default_rng(seed)
    G = GATES[mode]
    a = [rng.normal(0, scale, s) for s in
         [(L, N, Hin), (N, H), (N, H), (G * H, Hin), (G * H, H), (G * H,), (G * H,)]]
    if zero_h0:
        a[1][:] = 0
    if mode != "LSTM":
        a[2] = None
    return a


def _tensors(arrays, dtype, grad=True):
    return [None if a is None else gn.tensor(a.astype(dtype), requires_grad=grad)
            for a in arrays]


def _run(arrays, dtype, lengths=None, reverse=False, fn=recurrent_layer, seed=1, mode="LSTM"):
    """Outputs and gradients of every input for a fixed random linear loss."""
    args = _tensors(arrays, dtype)
    outs = fn(mode, *args, lengths=None if lengths is None else np.array(lengths),
              reverse=reverse)
    outs = [t for t in outs if t is not None]
    rng = np.random.default_rng(seed)
    loss = sum((t * gn.tensor(rng.normal(size=t.shape).astype(dtype))).sum() for t in outs)
    loss.backward()
    return [t.numpy() for t in outs], [a.grad.numpy() for a in args if a is not None]


def _close(got, want, rtol=2e-4, atol=2e-5):
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("lengths", [None, [7, 2, 5, 1]])
@pytest.mark.parametrize("zero_h0", [False, True])
def test_compiled_matches_float64_reference(mode, reverse, lengths, zero_h0):
    arrays = _arrays(zero_h0=zero_h0, mode=mode)
    _fast._used.clear()
    v32, g32 = _run(arrays, np.float32, lengths, reverse, mode=mode)
    assert mode.lower() in _fast.status()["ops"]
    v64, g64 = _run(arrays, np.float64, lengths, reverse, fn=recurrent_layer_reference,
                    mode=mode)
    _close(v32, v64)
    _close(g32, g64)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_compiled_and_numpy_paths_agree(mode, scale):
    arrays = _arrays(seed=3, scale=scale, mode=mode)
    v1, g1 = _run(arrays, np.float32, [7, 6, 7, 3], mode=mode)
    _fast.use(False)
    v2, g2 = _run(arrays, np.float32, [7, 6, 7, 3], mode=mode)
    _close(v1, v2, rtol=1e-4, atol=1e-5)
    for a, b in zip(g1, g2):        # saturated gates: both round 1 − n² differently
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=2e-5 * max(1.0, abs(b).max()))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("padding_idx", [None, 3])
def test_embedded_input_matches_reference(mode, padding_idx):
    rng = np.random.default_rng(4)
    L, N, V, Hin, H = 6, 3, 11, 5, 8
    ids = rng.integers(0, V, (L, N))
    ids[0, 0] = 3
    table = rng.normal(0, 1, (V, Hin))
    rest = _arrays(L, N, Hin, H, seed=5, mode=mode)[1:]
    results = []
    for dtype, fn in ((np.float32, recurrent_layer), (np.float64, recurrent_layer_reference)):
        E = gn.tensor(table.astype(dtype), requires_grad=True)
        args = _tensors(rest, dtype)
        x = EmbeddedInput(ids, E, padding_idx) if fn is recurrent_layer else E[gn.tensor(ids)]
        outs = [t for t in fn(mode, x, *args) if t is not None]
        w = np.random.default_rng(6).normal(size=outs[0].shape).astype(dtype)
        ((outs[0] * gn.tensor(w)).sum() + sum(t.sum() for t in outs[1:])).backward()
        gE = E.grad.numpy().copy()
        if padding_idx is not None and fn is recurrent_layer_reference:
            gE[padding_idx] = 0
        results.append([t.numpy() for t in outs] + [gE] +
                       [a.grad.numpy() for a in args if a is not None])
    _close(results[0], results[1])


def _torch_lstm(Hin, H, weights):
    m = torch.nn.LSTM(Hin, H)
    with torch.no_grad():
        for p, w in zip((m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0), weights):
            p.copy_(torch.from_numpy(w.astype(np.float32)))
    return m


@pytest.mark.parametrize("scale", [6.0, 30.0])
def test_saturated_gates_match_torch(scale):
    """Large weights drive the gates to 0/1 and tanh to ±1 (e^x at its clamps)."""
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = _arrays(L=9, seed=7, scale=scale)
    x[0, 0, 0] = 200.0
    x[1, 1, :] = -200.0
    v, g = _run([x, h0, c0, w_ih, w_hh, b_ih, b_hh], np.float32)
    m = _torch_lstm(5, 9, (w_ih, w_hh, b_ih, b_hh))
    xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    st = [torch.tensor(a[None], dtype=torch.float32, requires_grad=True) for a in (h0, c0)]
    out, (h, c) = m(xt, tuple(st))
    rng = np.random.default_rng(1)
    loss = sum((t * torch.from_numpy(rng.normal(size=t.shape).astype(np.float32))).sum()
               for t in (out, h[0], c[0]))
    loss.backward()
    tol = dict(rtol=1e-4, atol=1e-4 * scale)
    _close(v, [out.detach().numpy(), h[0].detach().numpy(), c[0].detach().numpy()], **tol)
    _close(g[:3], [xt.grad.numpy(), st[0].grad[0].numpy(), st[1].grad[0].numpy()], **tol)
    _close(g[3:], [m.weight_ih_l0.grad.numpy(), m.weight_hh_l0.grad.numpy(),
                   m.bias_ih_l0.grad.numpy(), m.bias_hh_l0.grad.numpy()], **tol)


@pytest.mark.parametrize("scale", [6.0, 30.0])
def test_gru_saturated_gates_match_torch(scale):
    x, h0, _, w_ih, w_hh, b_ih, b_hh = _arrays(L=9, seed=7, scale=scale, mode="GRU")
    x[0, 0, 0] = 200.0
    x[1, 1, :] = -200.0
    v, g = _run([x, h0, None, w_ih, w_hh, b_ih, b_hh], np.float32, mode="GRU")
    m = torch.nn.GRU(5, 9)
    with torch.no_grad():
        for p, w in zip((m.weight_ih_l0, m.weight_hh_l0, m.bias_ih_l0, m.bias_hh_l0),
                        (w_ih, w_hh, b_ih, b_hh)):
            p.copy_(torch.from_numpy(w.astype(np.float32)))
    xt = torch.tensor(x, dtype=torch.float32, requires_grad=True)
    ht0 = torch.tensor(h0[None], dtype=torch.float32, requires_grad=True)
    out, h = m(xt, ht0)
    rng = np.random.default_rng(1)
    loss = sum((t * torch.from_numpy(rng.normal(size=t.shape).astype(np.float32))).sum()
               for t in (out, h[0]))
    loss.backward()
    tol = dict(rtol=1e-4, atol=1e-4 * scale)
    _close(v, [out.detach().numpy(), h[0].detach().numpy()], **tol)
    _close(g, [xt.grad.numpy(), ht0.grad[0].numpy(), m.weight_ih_l0.grad.numpy(),
               m.weight_hh_l0.grad.numpy(), m.bias_ih_l0.grad.numpy(),
               m.bias_hh_l0.grad.numpy()], **tol)


def test_nan_propagates_like_torch():
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = _arrays(seed=8)
    x[2, 1, 3] = np.nan
    args = [gn.tensor(a.astype(np.float32)) for a in (x, h0, c0, w_ih, w_hh, b_ih, b_hh)]
    out, h, c = recurrent_layer("LSTM", *args)
    m = _torch_lstm(5, 9, (w_ih, w_hh, b_ih, b_hh))
    with torch.no_grad():
        ot, (ht, ct) = m(torch.tensor(x, dtype=torch.float32),
                         (torch.tensor(h0[None], dtype=torch.float32),
                          torch.tensor(c0[None], dtype=torch.float32)))
    np.testing.assert_array_equal(np.isnan(out.numpy()), np.isnan(ot.numpy()))
    np.testing.assert_allclose(out.numpy(), ot.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("dtype,enabled,compiled", [
    (np.float32, True, True), (np.float64, True, False), (np.float32, False, False)])
def test_which_path_runs(dtype, enabled, compiled):
    _fast.use(enabled)
    run = prepare("LSTM", *_tensors(_arrays(), dtype, grad=False), None, False)
    assert (run.kernels is not None) == compiled
    assert run.XW.shape == ((28, 36) if compiled else (4, 7, 4, 9))
    run = prepare("GRU", *_tensors(_arrays(mode="GRU"), dtype, grad=False), None, False)
    assert (run.kernels is not None) == compiled
    assert run.XW.shape == ((28, 27) if compiled else (7, 4, 27))


def test_embedded_input_reads_the_table_and_checks_ids():
    """With an embedding input the kernel reads the V projected rows by id (no L·N gather);
    an id outside the table (negative too, like torch's Embedding) raises IndexError."""
    rng = np.random.default_rng(9)
    E = gn.tensor(rng.normal(size=(11, 5)).astype(np.float32))
    rest = _tensors(_arrays(L=6, N=3, seed=9)[1:], np.float32, grad=False)
    ids = rng.integers(0, 11, (6, 3))
    run = prepare("LSTM", EmbeddedInput(ids, E), *rest, None, False)
    assert run.XW.shape == (11, 36)
    np.testing.assert_array_equal(run.rows, ids)
    for bad in (11, -1):
        ids[2, 1] = bad
        with pytest.raises(IndexError, match=r"lstm: embedding ids must lie in \[0, 11\)"):
            recurrent_layer("LSTM", EmbeddedInput(ids, E), *rest)


@pytest.mark.parametrize("mode", MODES)
def test_rows_split_over_threads_give_the_same_numbers(mode, monkeypatch):
    """A step big enough for the ``_par`` kernels (rows split over OpenMP threads where
    MKL runs on 2+ threads) gives bit-identical values and gradients to the one-thread
    kernels; MKL's thread count is the same after the kernels' threads start."""
    from glassnet import blas
    before = blas.threads()
    arrays = _arrays(L=5, N=32, Hin=6, H=_fast.PARALLEL_MIN // 32, seed=11, mode=mode)
    v1, g1 = _run(arrays, np.float32, [5] * 30 + [3, 2], mode=mode)
    assert blas.threads() == before
    if not _fast.parallel_rows():
        pytest.skip("rows stay on one thread here (no MKL on 2+ threads, or no OpenMP)")
    cell = "rnn" if mode.startswith("RNN") else mode.lower()
    assert _fast.step_kernel(f"{cell}_cell", 32 * 128) is \
        getattr(_fast.kernels(), f"{cell}_cell_par")
    monkeypatch.setattr(_fast, "PARALLEL_MIN", 1 << 40)
    v2, g2 = _run(arrays, np.float32, [5] * 30 + [3, 2], mode=mode)
    for a, b in zip(v1 + g1, v2 + g2):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("zero_h0", [False, True])
@pytest.mark.parametrize("embedded,h0_grad", [(False, True), (True, True), (False, False)])
def test_time_loop_in_c_equals_the_step_loop(mode, reverse, zero_h0, embedded, h0_grad,
                                             monkeypatch):
    """With MKL a layer's whole time loop runs in one compiled call per direction (products
    included, ``blas.product_plan``): values and every gradient bit for bit those of the
    Python loop over the same kernels and products."""
    from glassnet import blas
    from glassnet.ops.recurrent import _common
    name = {"LSTM": "lstm", "GRU": "gru"}.get(mode, "rnn")
    monkeypatch.setattr(blas, "MIN_FLOPS", 0)            # MKL for these small products too
    one = np.ones((4, 4), np.float32)
    if blas.product_plan(one, 4, one, one) is None:
        pytest.skip("MKL is off here")
    arrays = _arrays(L=6, N=3, Hin=5, H=7, seed=12, zero_h0=zero_h0, mode=mode)
    ids = np.random.default_rng(13).integers(0, 9, (6, 3))
    table = np.random.default_rng(14).normal(0, 1, (9, 5)).astype(np.float32)
    calls = []
    for way in ("forward", "backward"):
        real = getattr(_fast.kernels(), f"{name}_{way}_loop")
        monkeypatch.setattr(_fast.kernels(), f"{name}_{way}_loop",
                            lambda *a, real=real, way=way: calls.append(way) or real(*a))

    def run():
        E = gn.tensor(table.copy(), requires_grad=True)
        args = _tensors(arrays, np.float32)
        args[1] = gn.tensor(arrays[1].astype(np.float32), requires_grad=h0_grad)
        x = EmbeddedInput(ids, E) if embedded else args[0]
        outs = [t for t in recurrent_layer(mode, x, *args[1:], reverse=reverse)
                if t is not None]
        w = np.random.default_rng(6).normal(size=outs[0].shape).astype(np.float32)
        ((outs[0] * gn.tensor(w)).sum() + sum(t.sum() for t in outs[1:])).backward()
        grads = [E.grad.numpy()] if embedded else [args[0].grad.numpy()]
        return [t.numpy() for t in outs] + grads + [a.grad.numpy() for a in args[1:]
                                                    if a is not None and a.requires_grad]
    looped = run()
    assert calls == ["forward", "backward"]
    monkeypatch.setattr(_common, "product_plan", lambda *a: None)  # the Python loop
    stepped = run()
    assert calls == ["forward", "backward"]
    for a, b in zip(looped, stepped):
        np.testing.assert_array_equal(a, b)
