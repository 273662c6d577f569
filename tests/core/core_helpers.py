"""Shared helpers for the engine-core conformance tests.

Every check runs ONE function in both frameworks. The function receives a namespace ``L``
(``GN`` for glassnet, ``TORCH`` for PyTorch) and the input tensors, and spells ops the way both
libraries accept them: ``L.exp(x)``, ``x.sum(dim=1)``, ``L.cat([a, b], dim=0)``.
``L.const(array)`` wraps a constant (index array, mask, condition) for that framework.

    check_vs_torch(lambda L, x: L.exp(x).sum(dim=1), rand(3, 4))
    gradcheck(lambda L, x: L.exp(x), rand(3, 4))
"""
import numpy as np
import torch
import torch.nn.functional as F

import glassnet as gn
import glassnet.ops as gops

_RNG = np.random.default_rng(1234)


def rng() -> np.random.Generator:
    return _RNG


def rand(*shape, low=-2.0, high=2.0, dtype=np.float32, away=0.0) -> np.ndarray:
    """Uniform values in [low, high); ``away`` keeps |x| >= away (avoid kinks/poles at 0)."""
    x = _RNG.uniform(low, high, size=shape)
    if away:
        x = np.where(np.abs(x) < away, np.copysign(away, x) + x, x)
    return np.asarray(x, dtype=dtype)


def positive(*shape, dtype=np.float32) -> np.ndarray:
    return rand(*shape, low=0.5, high=3.0, dtype=dtype)


class _Lib:
    """Op namespace: attribute lookup goes to ``overrides``, then each module in order."""

    def __init__(self, name, const, overrides, *modules):
        self.name, self.const, self._over, self._mods = name, const, overrides, modules

    def __getattr__(self, item):
        if item in self._over:
            return self._over[item]
        for m in self._mods:
            if hasattr(m, item):
                return getattr(m, item)
        raise AttributeError(f"{self.name} has no op {item!r}")

    def __repr__(self):
        return self.name


GN = _Lib("glassnet", lambda a: gn.tensor(np.asarray(a)), {}, gops, gn)
TORCH = _Lib("torch", lambda a: torch.as_tensor(np.asarray(a)), {
    "linear": F.linear, "leaky_relu": F.leaky_relu, "gelu": F.gelu, "threshold": F.threshold,
    "pad": F.pad, "expand": lambda x, *s: x.expand(*s), "view": lambda x, *s: x.view(*s),
}, torch, F)


def assert_close(got, want, atol=1e-5, rtol=1e-5, what="value"):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != torch {want.shape}"
    finite = np.abs(want[np.isfinite(want)])
    scale = max(1.0, float(finite.max())) if finite.size else 1.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * scale, err_msg=what)


def check_vs_torch(fn, *arrays, atol=1e-5, rtol=1e-5, grad=True, torch_float64=False,
                   device="cpu"):
    """Run ``fn(L, *tensors)`` in glassnet and torch on the same float arrays.

    Compares output shape and values, then backpropagates the same random upstream gradient
    through both and compares every input gradient. Returns the glassnet output.
    ``torch_float64=True`` computes the torch reference in float64 (then rounds it to the
    input dtype): for inputs where float32 torch itself loses digits (logits of 1e4).
    ``device`` puts glassnet's inputs (and ``L.const`` constants) on that device; results
    must stay there and are compared on the host.
    """
    def to_torch(a):
        a = a.astype(np.float64) if torch_float64 and a.dtype.kind == "f" else a
        return torch.tensor(a, requires_grad=grad and a.dtype.kind == "f")

    g_in = [gn.tensor(a, requires_grad=grad and a.dtype.kind == "f", device=device)
            for a in arrays]
    t_in = [to_torch(a) for a in arrays]
    lib = GN if device == "cpu" else _Lib(f"glassnet[{device}]",
                                          lambda a: gn.tensor(np.asarray(a), device=device),
                                          {}, gops, gn)
    g_out = fn(lib, *g_in)
    t_out = fn(TORCH, *t_in)
    assert isinstance(g_out, gn.Tensor), f"expected a Tensor, got {type(g_out).__name__}"
    t_np = t_out.detach().numpy()
    if torch_float64:
        t_np = t_np.astype(g_out.dtype)
    assert g_out.dtype == t_np.dtype, f"dtype {g_out.dtype} != torch {t_np.dtype}"
    assert g_out.device == device, f"output on {g_out.device}, inputs on {device}"
    assert_close(g_out.numpy(), t_np, atol, rtol, "forward")
    if not grad or not t_out.requires_grad:
        return g_out
    up = rand(*t_np.shape, dtype=t_np.dtype)
    g_out.backward(gradient=up)
    t_out.backward(torch.tensor(up, dtype=t_out.dtype))
    for i, (gt, tt) in enumerate(zip(g_in, t_in)):
        if not tt.requires_grad:
            continue
        if tt.grad is None:
            assert gt.grad is None or not np.any(gt.grad.numpy()), f"input {i}: unexpected grad"
            continue
        assert gt.grad is not None, f"input {i}: glassnet produced no gradient"
        assert gt.grad.dtype == gt.dtype, f"input {i}: grad dtype {gt.grad.dtype}"
        assert gt.grad.device == device, f"input {i}: grad on {gt.grad.device}"
        assert_close(gt.grad.numpy(), tt.grad.numpy().astype(gt.dtype), atol, rtol,
                     f"grad of input {i}")
    return g_out


def gradcheck(fn, *arrays, eps=1e-6, atol=1e-5, rtol=1e-5):
    """Float64 central differences vs the analytic gradient of ``fn(GN, *tensors)``.

    Uses a random upstream gradient ``u`` and checks d<u, f(x)>/dx for every input element.
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    xs = [gn.tensor(a, requires_grad=True) for a in arrays]
    out = fn(GN, *xs)
    assert out.dtype == np.float64, f"float64 input gave {out.dtype} output"
    u = _RNG.standard_normal(out.shape)
    out.backward(gradient=u)

    def f(vals):
        with gn.no_grad():
            return float(np.sum(fn(GN, *[gn.tensor(v) for v in vals]).array * u))

    for i, a in enumerate(arrays):
        num = np.zeros_like(a)
        for j in range(a.size):
            plus = [v.copy() for v in arrays]
            minus = [v.copy() for v in arrays]
            plus[i].flat[j] += eps
            minus[i].flat[j] -= eps
            num.flat[j] = (f(plus) - f(minus)) / (2 * eps)
        ana = xs[i].grad.array if xs[i].grad is not None else np.zeros_like(a)
        np.testing.assert_allclose(ana, num, rtol=rtol, atol=atol,
                                   err_msg=f"analytic vs numeric gradient of input {i}")

