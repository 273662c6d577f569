"""glassnet/blas.py: products through MKL's GEMM (when the optional ``mkl`` package is installed)
equal NumPy's in float64 truth, for every layout BLAS reads in place, and fall back to
``np.matmul`` for everything else; layers using them still match PyTorch at sizes that
take the MKL path."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import blas as _blas

needs_mkl = pytest.mark.skipif(not _blas.status()["enabled"],
                               reason="the optional mkl package is not installed "
                                      "(pip install 'glassnet[mkl]') or GLASSNET_BLAS=numpy")


@pytest.fixture
def always_mkl(monkeypatch):
    """Every product on MKL, whatever its size (and back to the default afterwards)."""
    monkeypatch.setattr(_blas, "MIN_FLOPS", 1)
    _blas.use(True)
    yield
    _blas.use(True)


def _operand(rng, shape, layout, dtype):
    """A (rows, cols) operand in the given memory layout: "C", "T" (transpose of a C array),
    "lda" (rows of a wider array), "strided" (every other column: no BLAS layout)."""
    r, c = shape
    if layout == "C":
        return rng.standard_normal(shape).astype(dtype)
    if layout == "T":
        return rng.standard_normal((c, r)).astype(dtype).T
    if layout == "lda":
        return rng.standard_normal((r, c + 5)).astype(dtype)[:, 2:2 + c]
    return rng.standard_normal((r, 2 * c)).astype(dtype)[:, ::2]


@needs_mkl
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("la", ["C", "T", "lda", "strided"])
@pytest.mark.parametrize("lb", ["C", "T", "lda"])
@pytest.mark.parametrize("shape", [(17, 33, 9), (1, 40, 7), (6, 1, 5), (8, 16, 1)])
def test_every_layout_gives_the_float64_product(always_mkl, dtype, la, lb, shape):
    M, K, N = shape
    rng = np.random.default_rng(M * 100 + K)
    a, b = _operand(rng, (M, K), la, dtype), _operand(rng, (K, N), lb, dtype)
    got = _blas.matmul(a, b)
    want = a.astype(np.float64) @ b.astype(np.float64)
    assert got.dtype == dtype and got.shape == (M, N)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


@needs_mkl
def test_out_is_written_and_returned(always_mkl):
    rng = np.random.default_rng(0)
    a, b = _operand(rng, (5, 7), "C", np.float32), _operand(rng, (7, 3), "T", np.float32)
    out = np.full((5, 3), np.nan, np.float32)
    assert _blas.matmul(a, b, out=out) is out
    np.testing.assert_allclose(out, a @ b, rtol=1e-6, atol=1e-6)
    assert _blas.status()["ran"]


@needs_mkl
def test_an_out_that_overlaps_an_operand_is_left_to_numpy(always_mkl):
    rng = np.random.default_rng(1)
    a = rng.standard_normal((6, 6)).astype(np.float32)
    b = rng.standard_normal((6, 6)).astype(np.float32)
    want = a @ b
    _blas.matmul(a, b, out=a)                  # NumPy copies the overlapping operand first
    np.testing.assert_allclose(a, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("case", ["ints", "mixed", "batched", "vector", "small"])
def test_what_blas_cannot_take_gives_numpys_result(case):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((4, 5)).astype(np.float32)
    b = rng.standard_normal((5, 3)).astype(np.float32)
    if case == "ints":
        a, b = np.arange(20).reshape(4, 5), np.arange(15).reshape(5, 3)
    elif case == "mixed":
        b = b.astype(np.float64)
    elif case == "batched":
        a, b = np.stack([a, a + 1]), np.stack([b, b - 1])
    elif case == "vector":
        b = b[:, 0]
    want = np.matmul(a, b)
    got = _blas.matmul(a, b)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


def test_turned_off_every_product_is_numpys(monkeypatch):
    monkeypatch.setattr(_blas, "MIN_FLOPS", 1)
    _blas.use(False)
    try:
        rng = np.random.default_rng(3)
        a, b = rng.standard_normal((9, 8)).astype(np.float32), \
            rng.standard_normal((8, 7)).astype(np.float32)
        np.testing.assert_array_equal(_blas.matmul(a, b), np.matmul(a, b))
        assert _blas.status()["enabled"] is False
    finally:
        _blas.use(True)


def test_the_environment_variable_turns_mkl_off(monkeypatch):
    monkeypatch.setenv("GLASSNET_BLAS", "numpy")
    monkeypatch.setattr(_blas, "_gemm", _blas._UNSET)
    try:
        assert _blas.status()["enabled"] is False
    finally:
        monkeypatch.delenv("GLASSNET_BLAS")
        _blas.use(True)


@needs_mkl
def test_lstm_and_linear_on_mkl_match_torch():
    """The lstm workload's shapes (products well above MIN_FLOPS): values and gradients."""
    torch.manual_seed(0)
    N, T, I, H = 32, 12, 64, 256
    t_lstm, t_lin = torch.nn.LSTM(I, H, batch_first=True), torch.nn.Linear(H, 65)
    g_lstm, g_lin = gn.nn.LSTM(I, H, batch_first=True), gn.nn.Linear(H, 65)
    for g_mod, t_mod in ((g_lstm, t_lstm), (g_lin, t_lin)):
        g_mod.load_state_dict({k: gn.tensor(v.detach().numpy())
                               for k, v in t_mod.state_dict().items()})
    x = np.random.default_rng(4).standard_normal((N, T, I)).astype(np.float32)
    tx, gx = torch.tensor(x, requires_grad=True), gn.tensor(x, requires_grad=True)
    t_out = t_lin(t_lstm(tx)[0]).square().mean()
    g_out = g_lin(g_lstm(gx)[0]).square().mean()
    t_out.backward()
    g_out.backward()
    assert _blas.status()["ran"]
    np.testing.assert_allclose(g_out.item(), t_out.item(), rtol=1e-5)
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-4, atol=1e-7)
    for (name, p), tp in zip(g_lstm.named_parameters(), t_lstm.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-6,
                                   err_msg=name)


@needs_mkl
@pytest.mark.parametrize("shapes", [((5, 7), (3, 7, 4)), ((3, 5, 7), (7, 4)),
                                    ((3, 5, 7), (3, 7, 4))])
def test_stacked_products_go_matrix_by_matrix(always_mkl, shapes):
    """A stack of products (the recurrent layers' gate-major input projection) is one MKL call
    per matrix: the same values as NumPy's broadcasting matmul, transposed views included."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal(shapes[0]).astype(np.float32)
    *batch, k, n = shapes[1]                               # b: transposed views
    b = rng.standard_normal((*batch, n, k)).astype(np.float32).swapaxes(-1, -2)
    got = _blas.matmul(a, b)
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert got.shape == want.shape and got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@needs_mkl
def test_numpys_openblas_runs_one_thread_while_mkl_is_on_and_gets_its_threads_back():
    """Two BLAS thread pools spinning on the same cores slowed the recurrent steps 3-4x:
    with MKL on, every OpenBLAS of the process is set to one thread, and restored when off."""
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def openblas_threads():
        return [i["num_threads"] for i in threadpoolctl.threadpool_info()
                if i["internal_api"] == "openblas"]
    _blas.use(False)
    try:
        with threadpoolctl.threadpool_limits(2, user_api="blas"):
            before = openblas_threads()
            _blas.use(True)
            assert openblas_threads() == [1] * len(before)
            assert len(_blas.status()["openblas_single_thread"]) == len(before)
            _blas.use(False)
            assert openblas_threads() == before
    finally:
        _blas.use(True)


@needs_mkl
def test_axpby_in_place_and_refusals():
    rng = np.random.default_rng(6)
    x = rng.standard_normal(1 << 16).astype(np.float32)
    y = rng.standard_normal(1 << 16).astype(np.float32)
    want = 0.3 * x.astype(np.float64) - 1.5 * y.astype(np.float64)
    assert _blas.axpby(0.3, x, -1.5, y)
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-6)
    assert not _blas.axpby(1.0, x[:100], 1.0, y[:100])          # small: NumPy's job
    assert not _blas.axpby(1.0, x, 1.0, y.astype(np.float64))   # mixed dtypes
    assert not _blas.axpby(1.0, x[::2], 1.0, y[::2])            # strided
    assert not _blas.axpby(1.0, y, 1.0, y)                      # overlapping


@needs_mkl
@pytest.mark.parametrize("kw", [dict(momentum=0.9), dict(momentum=0.8, dampening=0.3), {}])
def test_sgd_on_large_parameters_takes_mkl_and_matches_torch(kw, monkeypatch):
    """Parameters above MIN_AXPBY elements take MKL's axpby: five steps equal PyTorch's. The
    compiled one-pass update (tests/optim/test_sgd_fast.py) is kept out."""
    import glassnet.optim.sgd as sgd_module
    monkeypatch.setattr(sgd_module, "sgd_takes", lambda *a: False)
    calls = []
    real = _blas.axpby
    monkeypatch.setattr(_blas, "axpby", lambda *a: calls.append(1) or real(*a))
    rng = np.random.default_rng(7)
    w0 = rng.standard_normal((300, 200)).astype(np.float32)
    grads = [rng.standard_normal(w0.shape).astype(np.float32) for _ in range(5)]
    tw = torch.nn.Parameter(torch.tensor(w0))
    gw = gn.nn.Parameter(gn.tensor(w0))
    t_opt, g_opt = torch.optim.SGD([tw], lr=0.05, **kw), gn.optim.SGD([gw], lr=0.05, **kw)
    for g in grads:
        tw.grad, gw.grad = torch.tensor(g), gn.tensor(g)
        t_opt.step()
        g_opt.step()
    assert calls and real.__module__ == "glassnet.blas"
    np.testing.assert_allclose(gw.numpy(), tw.detach().numpy(), rtol=1e-5, atol=1e-6)
    if kw:
        np.testing.assert_allclose(g_opt.state[gw]["momentum_buffer"],
                                   t_opt.state[tw]["momentum_buffer"].numpy(),
                                   rtol=1e-5, atol=1e-6)


@needs_mkl
@pytest.mark.parametrize("name,kw", [("Adam", {}), ("Adam", dict(amsgrad=True)),
                                     ("Adam", dict(weight_decay=0.1)),
                                     ("AdamW", dict(weight_decay=0.1))])
def test_adam_on_large_parameters_takes_mkl_and_matches_torch(name, kw, monkeypatch):
    """Parameters above MIN_AXPBY elements are updated by MKL's vector functions: ten steps
    equal PyTorch's (values and both moment estimates). The compiled one-pass update (used
    for parameters of MIN_ELEMENTS or more, tests/optim/test_adam_fast.py) is kept out."""
    import glassnet.optim.adam as adam_module
    monkeypatch.setattr(adam_module, "adam_update", lambda *a: False)
    calls = []
    real = _blas.linear_frac
    monkeypatch.setattr(_blas, "linear_frac", lambda *a: calls.append(1) or real(*a))
    rng = np.random.default_rng(8)
    w0 = rng.standard_normal((250, 200)).astype(np.float32)
    tw = torch.nn.Parameter(torch.tensor(w0))
    gw = gn.nn.Parameter(gn.tensor(w0))
    t_opt = getattr(torch.optim, name)([tw], lr=0.01, **kw)
    g_opt = getattr(gn.optim, name)([gw], lr=0.01, **kw)
    for _ in range(10):
        g = rng.standard_normal(w0.shape).astype(np.float32)
        tw.grad, gw.grad = torch.tensor(g), gn.tensor(g)
        t_opt.step()
        g_opt.step()
    assert len(calls) == 10
    # atol 1e-5 (a thousandth of an lr = 0.01 step): in some runs of the whole file about 1%
    # of the weights differ from PyTorch's by up to 3e-6 (seen 2026-12-05, before and after
    # the C kernels; the moments still agree to 1e-6); a wrong update is off by ~1e-2
    np.testing.assert_allclose(gw.numpy(), tw.detach().numpy(), rtol=1e-5, atol=1e-5)
    for key in ("exp_avg", "exp_avg_sq"):
        np.testing.assert_allclose(np.asarray(g_opt.state[gw][key]),
                                   t_opt.state[tw][key].numpy(), rtol=1e-5, atol=1e-6)


@needs_mkl
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("lb", ["C", "T", "lda"])
def test_packed_operand_gives_the_float64_product(always_mkl, dtype, lb):
    """pack(b, M) keeps b in MKL's internal layout; products with a of M rows equal the
    float64 truth; other row counts, dtypes and out= arrays MKL cannot write take NumPy."""
    rng = np.random.default_rng(7)
    b = _operand(rng, (37, 53), lb, dtype)
    p = _blas.pack(b, 9)
    assert isinstance(p, _blas.Packed) and p.shape == b.shape
    tol = 1e-4 if dtype == np.float32 else 1e-12
    for la in ("C", "T", "lda"):
        a = _operand(rng, (9, 37), la, dtype)
        want = a.astype(np.float64) @ b.astype(np.float64)
        np.testing.assert_allclose(_blas.matmul(a, p), want, rtol=tol, atol=tol)
        out = np.empty((9, 53), dtype)
        assert _blas.matmul(a, p, out=out) is out
        np.testing.assert_allclose(out, want, rtol=tol, atol=tol)
    for a in (_operand(rng, (4, 37), "C", dtype), _operand(rng, (9, 37), "strided", dtype),
              _operand(rng, (9, 37), "C", np.float64 if dtype == np.float32 else np.float32)):
        np.testing.assert_allclose(_blas.matmul(a, p), a @ b, rtol=tol, atol=tol)
    strided_out = np.empty((9, 106), dtype)[:, ::2]
    a = _operand(rng, (9, 37), "C", dtype)
    _blas.matmul(a, p, out=strided_out)
    np.testing.assert_allclose(strided_out, a @ b, rtol=tol, atol=tol)


def test_pack_returns_the_array_when_mkl_is_off_or_the_product_small(monkeypatch):
    b = np.ones((64, 64), np.float32)
    assert _blas.pack(b, 1) is b                        # 4096 multiply-adds: below MIN_FLOPS
    _blas.use(False)
    try:
        assert _blas.pack(b, 4096) is b
    finally:
        _blas.use(True)


@needs_mkl
@pytest.mark.parametrize("packed", [True, False])
@pytest.mark.parametrize("lb", ["C", "T"])
def test_repeated_product_equals_matmul(always_mkl, packed, lb):
    """blas.repeated(b, M): the first call plans, later calls of the same shapes and strides
    go straight to MKL; other shapes, strides or dtypes take matmul; results equal float64."""
    rng = np.random.default_rng(8)
    b = _operand(rng, (40, 24), lb, np.float32)
    f = _blas.repeated(b, 6, packed=packed)
    stack = rng.standard_normal((5, 6, 40)).astype(np.float32)
    out = np.empty((6, 24), np.float32)
    for a in list(stack) + [stack[1].T.copy().T, _operand(rng, (6, 40), "lda", np.float32),
                            _operand(rng, (6, 40), "strided", np.float32)]:
        assert f(a, out) is out
        np.testing.assert_allclose(out, a.astype(np.float64) @ b.astype(np.float64),
                                   rtol=1e-4, atol=1e-4)
    a = rng.standard_normal((3, 40)).astype(np.float32)             # other row count
    np.testing.assert_allclose(f(a, np.empty((3, 24), np.float32)), a @ b, rtol=1e-5,
                               atol=1e-5)


def test_repeated_without_mkl_is_matmul(monkeypatch):
    _blas.use(False)
    try:
        rng = np.random.default_rng(9)
        b = rng.standard_normal((30, 20)).astype(np.float32)
        f = _blas.repeated(b, 4)
        a = rng.standard_normal((4, 30)).astype(np.float32)
        out = np.empty((4, 20), np.float32)
        for _ in range(2):
            np.testing.assert_array_equal(f(a, out), np.matmul(a, b))
    finally:
        _blas.use(True)


@needs_mkl
def test_mid_sized_products_go_to_mkl_only_on_two_or_more_threads(monkeypatch):
    """Below MIN_FLOPS a product takes MKL only when MKL runs on 2+ threads: from
    MIN_FLOPS_THREADED multiply-adds, a single row from MIN_ROW; the result is the product."""
    calls = []
    mkl = _blas._mkl

    def spy(a, b, out):
        calls.append(a.shape[0] * a.shape[1] * b.shape[1])
        return mkl(a, b, out)
    monkeypatch.setattr(_blas, "_mkl", spy)
    rng = np.random.default_rng(3)
    cases = {(16, 784, 128): True,       # 1.6M multiply-adds: MKL on 2 threads
             (1, 3136, 128): True,       # one row, 401K: MKL on 2 threads
             (4, 256, 256): False,       # 262K, four rows: NumPy
             (1, 128, 256): False}       # one row below MIN_ROW: NumPy
    for n_threads in (2, 1):          # MKL's thread count as the routing reads it
        monkeypatch.setitem(_blas._vec, "MKL_Get_Max_Threads", lambda n=n_threads: n)
        for (M, K, N), on_two in cases.items():
            assert M * K * N < _blas.MIN_FLOPS
            a = _operand(rng, (M, K), "C", np.float32)
            b = _operand(rng, (K, N), "T", np.float32)
            calls.clear()
            got = _blas.matmul(a, b)
            assert bool(calls) == (on_two and n_threads >= 2), (M, K, N, n_threads)
            want = a.astype(np.float64) @ b.astype(np.float64)
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * np.abs(want).max())


_OPENMP_PROBE = """
import json, numpy as np, threadpoolctl
from glassnet import blas
a = np.ones((256, 256), np.float32)
blas.matmul(a, a)                                   # MKL's first call starts its threads
print(json.dumps([blas.status()["openmp"],
                  sorted(i["prefix"] for i in threadpoolctl.threadpool_info()
                         if i["user_api"] == "openmp")]))
"""


@needs_mkl
@pytest.mark.parametrize("env, runtime", [({}, "gnu"), ({"MKL_THREADING_LAYER": "INTEL"},
                                                         "default")])
def test_mkl_runs_its_threads_on_gnu_openmp_unless_the_user_chose(env, runtime):
    """One OpenMP runtime per process (the compiled kernels use libgomp): MKL is switched to its
    GNU threading layer at load, so Intel's libiomp5 never starts; a user's
    MKL_THREADING_LAYER is left as it is."""
    import json
    import os
    import subprocess
    import sys
    pytest.importorskip("threadpoolctl")
    env = {**os.environ, "MKL_NUM_THREADS": "2", **env}
    env.pop("GLASSNET_BLAS", None)
    out = subprocess.run([sys.executable, "-c", _OPENMP_PROBE], env=env, capture_output=True,
                         text=True, check=True).stdout
    layer, pools = json.loads(out.strip().splitlines()[-1])
    assert layer == runtime
    if runtime == "gnu":
        assert pools == ["libgomp"]
    else:
        assert "libiomp" in pools
