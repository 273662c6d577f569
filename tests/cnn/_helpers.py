"""Helpers for the CNN tests: run a glassnet layer and a PyTorch layer on the same weights and
inputs and compare outputs and every gradient; float64 central differences."""
import numpy as np
import torch

import glassnet as gn

RNG = np.random.default_rng(0)


def rand(*shape, dtype=np.float32):
    return RNG.standard_normal(shape).astype(dtype)


def _close(a, b, what, rtol, atol):
    scale = max(1.0, float(np.abs(b).max())) if np.size(b) else 1.0
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol * scale, err_msg=what)


def compare_with_torch(gn_layer, torch_layer, x, rtol=1e-4, atol=1e-5, train=True):
    """Load gn_layer's weights into torch_layer, then compare output, dx and every param grad.

    Returns (glassnet output, torch output) for extra checks.
    """
    torch_layer.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                                 gn_layer.state_dict().items()})
    gn_layer.train(train)
    torch_layer.train(train)
    xg = gn.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yg, yt = gn_layer(xg), torch_layer(xt)
    assert yg.shape == tuple(yt.shape), f"shape {yg.shape} != torch {tuple(yt.shape)}"
    assert yg.dtype == x.dtype, f"dtype {yg.dtype} != input {x.dtype}"
    _close(yg.array, yt.detach().numpy(), "output", rtol, atol)
    w = RNG.standard_normal(yg.shape).astype(x.dtype)
    (yg * gn.tensor(w)).sum().backward()
    (yt * torch.from_numpy(w)).sum().backward()
    _close(xg.grad.array, xt.grad.numpy(), "input grad", rtol, atol)
    tparams = dict(torch_layer.named_parameters())
    for name, p in gn_layer.named_parameters():
        _close(p.grad.array, tparams[name].grad.numpy(), f"grad of {name}", rtol, atol)
    return yg, yt


def numeric_grad(f, arr: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar f() w.r.t. arr (modified in place and restored)."""
    g = np.zeros_like(arr)
    it = np.nditer(arr, flags=["multi_index"])
    for _ in it:
        i = it.multi_index
        old = arr[i]
        arr[i] = old + eps
        up = f()
        arr[i] = old - eps
        down = f()
        arr[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


def gradcheck_layer(layer, x: np.ndarray, tol: float = 1e-6):
    """float64 check of d(Σ y·w)/d(x and every parameter) against central differences."""
    layer.double()
    layer.zero_grad()
    xg = gn.tensor(x.astype(np.float64), requires_grad=True)
    y = layer(xg)
    w = RNG.standard_normal(y.shape)
    (y * gn.tensor(w)).sum().backward()

    def f():
        with gn.no_grad():
            return float((layer(gn.tensor(xg.array)).array * w).sum())
    targets = [("input", xg)] + list(layer.named_parameters())
    for name, t in targets:
        num = numeric_grad(f, t.array)
        np.testing.assert_allclose(t.grad.array, num, rtol=tol, atol=tol, err_msg=name)
