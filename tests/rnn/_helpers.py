"""Shared helpers for the recurrent-layer tests: build the same layer in both frameworks."""
import numpy as np
import torch

import glassnet as gn


def twin(kind, *args, dtype=np.float32, **kw):
    """(glassnet layer, torch layer) with the same (torch-initialised) weights."""
    torch.manual_seed(0)
    tl = getattr(torch.nn, kind)(*args, **kw)
    if dtype == np.float64:
        tl = tl.double()
    gl = getattr(gn.nn, kind)(*args, **kw)
    if dtype == np.float64:
        gl = gl.double()
    gl.load_state_dict({k: v.detach().numpy() for k, v in tl.state_dict().items()})
    return gl, tl


def pair(arr, requires_grad=True):
    """The same array as a glassnet tensor and a torch tensor (both requiring grad)."""
    return (gn.tensor(arr, requires_grad=requires_grad),
            torch.tensor(arr, requires_grad=requires_grad))


def close(a, b, rtol=1e-4, atol=1e-5, what=""):
    a = a.numpy() if hasattr(a, "numpy") and not isinstance(a, np.ndarray) else a
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    np.testing.assert_allclose(np.asarray(a), b, rtol=rtol, atol=atol, err_msg=what)


def grads_close(gl, tl, rtol=1e-4, atol=1e-5):
    tp = dict(tl.named_parameters())
    n = 0
    for name, p in gl.named_parameters():
        assert p.grad is not None, f"no grad for {name}"
        close(p.grad, tp[name].grad, rtol, atol, what=name)
        n += 1
    assert n == len(tp)
