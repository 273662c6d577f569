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


def check_outputs(device, g_out, t_out, g_in, t_in, atol=1e-5, rtol=1e-5):
    """glassnet's output ``g_out`` (on ``device``) against torch's ``t_out``: device and value,
    then, after the same random upstream gradient, every gradient torch gives an input."""
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


def check_op(device, fn, *arrays, atol=1e-5, rtol=1e-5, torch_fn=None):
    """``fn(lib, *tensors)`` on ``device`` vs torch: output device, value and every gradient."""
    g_in = [on(device, a, grad=True) for a in arrays]
    t_in = [torch.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    check_outputs(device, fn(gn, *g_in), (torch_fn or fn)(torch, *t_in), g_in, t_in, atol,
                  rtol)


def check_module(device, ours, theirs, inputs, call=None, atol=1e-5, rtol=1e-4):
    """glassnet module ``ours`` with torch module ``theirs``'s weights, moved to ``device``:
    ``call(module, tensors, lib)`` (default ``module(*tensors)``) on ``inputs`` as
    :func:`check_outputs`, then every parameter's gradient and every buffer vs torch's."""
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    ours.to(device)
    call = call or (lambda m, xs, L: m(*xs))
    g_in = [on(device, a, grad=True) for a in inputs]
    t_in = [torch.tensor(a, requires_grad=True) for a in inputs]
    check_outputs(device, call(ours, g_in, gn), call(theirs, t_in, torch), g_in, t_in, atol,
                  rtol)
    tparams = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert p.device == device and p.grad.device == device, name
        close(host(p.grad), host(tparams[name].grad), atol, rtol, name)
    tbufs = dict(theirs.named_buffers())
    for name, b in ours.named_buffers():
        assert b.device == device, name
        close(host(b), host(tbufs[name]), atol, rtol, name)


def check_optimizer(device, make, steps: int):
    """``make(lib, params)`` stepped ``steps`` times on ``device`` and in torch with the same
    gradients: the same parameters, and every state array on the parameters' device."""
    arrays = [rand(4, 3), rand(3)]
    gp = [on(device, a, grad=True) for a in arrays]
    tp = [torch.tensor(a, requires_grad=True) for a in arrays]
    go, to = make(gn, gp), make(torch, tp)
    for step in range(steps):
        for g, t in zip(gp, tp):
            grad = (0.5 * host(t) + step).astype(np.float32)
            g.grad = gn.tensor(grad, device=device)
            t.grad = torch.tensor(grad)
        go.step()
        to.step()
    for g, t in zip(gp, tp):
        assert g.device == device
        close(host(g), host(t), 1e-6, 1e-5, "parameter")
    for state in go.state.values():           # state lives with its parameter
        for v in state.values():
            if hasattr(v, "shape") and not isinstance(v, np.generic):
                assert gn.backend.device_of(v) == device
