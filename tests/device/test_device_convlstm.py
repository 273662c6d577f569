"""ConvLSTM2d on each device: forward values and every gradient equal the CPU run.

The CPU result itself is checked against PyTorch and finite differences in
tests/video/test_convlstm.py; here the same layer, weights and inputs run on ``device`` and must
give the CPU numbers (float32 tolerance), with outputs and gradients left on the device.
"""
import numpy as np
import pytest

import glassnet as gn
from glassnet import nn

from _devhelpers import close, host, on

CASES = [  # L, N, C_in, H, W, C_h, kernel, bias, state, batch_first
    (3, 2, 2, 5, 4, 3, 3, True, True, True),
    (2, 2, 1, 4, 5, 2, (2, 3), False, False, False),   # even kernel, zero state made on device
]


def _inputs(case, seed=0):
    L, N, C, H, W, Ch, _, _, state, batch_first = case
    rng = np.random.default_rng(seed)
    f32 = lambda *s: rng.standard_normal(s).astype(np.float32)   # noqa: E731
    seq = (N, L) if batch_first else (L, N)
    return {"x": f32(*seq, C, H, W),
            "h0": f32(N, Ch, H, W) * 0.5 if state else None,
            "c0": f32(N, Ch, H, W) * 0.5 if state else None,
            "up_out": f32(*seq, Ch, H, W), "up_h": f32(N, Ch, H, W), "up_c": f32(N, Ch, H, W)}


def _run(device, case):
    """Forward + backward of Σ out·U + h_n·U' + c_n·U'' on ``device``; host copies back."""
    _, _, C, _, _, Ch, k, bias, state, batch_first = case
    a = _inputs(case)
    gn.manual_seed(3)
    layer = nn.ConvLSTM2d(C, Ch, k, bias=bias, batch_first=batch_first).to(device)
    x = on(device, a["x"], grad=True)
    hx = (on(device, a["h0"], grad=True), on(device, a["c0"], grad=True)) if state else None
    out, (h, c) = layer(x, hx)
    for t in (out, h, c):
        assert t.device == device, f"output on {t.device}, expected {device}"
    loss = (out * on(device, a["up_out"])).sum() + (h * on(device, a["up_h"])).sum() + \
        (c * on(device, a["up_c"])).sum()
    loss.backward()
    grads = {"x": x, "weight": layer.weight}
    if bias:
        grads["bias"] = layer.bias
    if state:
        grads["h0"], grads["c0"] = hx
    for name, t in grads.items():
        assert t.grad is not None, f"{name}: no gradient"
        assert t.grad.device == device, f"{name}: grad on {t.grad.device}, expected {device}"
    return ({"out": host(out), "h_n": host(h), "c_n": host(c)},
            {name: host(t.grad) for name, t in grads.items()})


@pytest.mark.parametrize("case", CASES, ids=["state-bias-batch_first", "zero_state-no_bias"])
def test_convlstm2d_matches_cpu(device, case):
    want_vals, want_grads = _run("cpu", case)
    vals, grads = _run(device, case)
    for name, want in want_vals.items():
        close(vals[name], want, 1e-5, 1e-5, name)
    assert grads.keys() == want_grads.keys()
    for name, want in want_grads.items():
        assert grads[name].dtype == np.float32, name
        close(grads[name], want, 1e-4, 1e-4, f"grad of {name}")


def test_convlstm2d_mixed_devices_error():
    """Input on the fake device, layer on the CPU: an error naming the op and both devices."""
    layer = nn.ConvLSTM2d(1, 2, 3)
    x = on("fake", np.zeros((2, 1, 1, 4, 4), np.float32))
    with pytest.raises(RuntimeError, match=r"convlstm2d\(\).*same device.*fake.*cpu"):
        layer(x)
