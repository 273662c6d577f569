"""Helpers for the device conformance tests: run on a device, compare on the host vs torch."""
import numpy as np
import torch

import glassnet as gn

RNG = np.random.default_rng(7)


def rand(*shape, low=-2.0, high=2.0, dtype=np.float32, away=0.0) -> np.ndarray:
    x = RNG.uniform(low, high, size=shape)
    if away:
        x = np.where(np.abs(x) < away, np.copysign(away, x) + x, x)
    return x.astype(dtype)


def on(device, a, grad=False) -> gn.Tensor:
    """A glassnet tensor on ``device`` holding a copy of host array ``a``."""
    return gn.tensor(np.asarray(a), requires_grad=grad and np.asarray(a).dtype.kind == "f",
                     device=device)


def host(t) -> np.ndarray:
    """The values of a glassnet tensor (any device) or torch tensor as a host array."""
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return t.cpu().numpy()


def close(got, want, atol=1e-5, rtol=1e-5, what="value"):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape} != {want.shape}"
    np.testing.assert_allclose(got, want, atol=atol, rtol=rtol, err_msg=what)


def check_op(device, fn, *arrays, atol=1e-5, rtol=1e-5, torch_fn=None):
    """``fn(lib, *tensors)`` on ``device`` vs torch: output device, value and every gradient."""
    g_in = [on(device, a, grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    g_out = fn(gn, *g_in)
    t_out = (torch_fn or fn)(torch, *t_in)
    assert g_out.device == device, f"output on {g_out.device}, expected {device}"
    close(host(g_out), host(t_out), atol, rtol, "forward")
    if not t_out.requires_grad:
        return
    up = rand(*t_out.shape)
    g_out.backward(gn.tensor(up, device=device))
    t_out.backward(torch.tensor(up))
    for i, (gt, tt) in enumerate(zip(g_in, t_in)):
        if tt.grad is None:
            continue
        assert gt.grad is not None, f"input {i}: no gradient"
        assert gt.grad.device == device, f"input {i}: grad on {gt.grad.device}"
        close(host(gt.grad), host(tt.grad), atol, rtol, f"grad of input {i}")
