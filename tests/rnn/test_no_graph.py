"""A recurrent layer run without a graph (``no_grad``, or nothing requiring grad) returns the
state buffer's views directly instead of graph nodes: the same numbers, bit for bit, as the
recorded run, with lengths, both directions and every cell; and PyTorch's values."""
import numpy as np
import pytest
import torch

import glassnet as gn


@pytest.mark.parametrize("cell", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("lengths", [False, True])
def test_no_graph_outputs_equal_recorded_ones(cell, bidirectional, lengths):
    rng = np.random.default_rng(0)
    N, L, H = 3, 5, 6
    layer = getattr(gn.nn, cell)(4, H, batch_first=True, bidirectional=bidirectional)
    x = rng.standard_normal((N, L, 4)).astype(np.float32)
    lens = np.array([5, 2, 4]) if lengths else None
    recorded = layer(gn.tensor(x, requires_grad=True), lengths=lens)
    with gn.no_grad():
        plain = layer(gn.tensor(x), lengths=lens)
    flat = lambda out: [out[0]] + (list(out[1]) if cell == "LSTM" else [out[1]])  # noqa: E731
    for a, b in zip(flat(recorded), flat(plain)):
        assert a.requires_grad and not b.requires_grad
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        assert b.grad_fn is None


def test_generation_steps_match_torch():
    """One step at a time with the carried (h, c), as text generation runs an LSTM."""
    gn.manual_seed(0)
    ours = gn.nn.LSTM(8, 16, batch_first=True).eval()
    theirs = torch.nn.LSTM(8, 16, batch_first=True).eval()
    theirs.load_state_dict({k: torch.from_numpy(np.array(v))
                            for k, v in ours.state_dict().items()})
    xs = np.random.default_rng(1).standard_normal((6, 1, 1, 8)).astype(np.float32)
    hc_o = hc_t = None
    with gn.no_grad(), torch.no_grad():
        for x in xs:
            out_o, hc_o = ours(gn.tensor(x), hc_o)
            out_t, hc_t = theirs(torch.from_numpy(x), hc_t)
            np.testing.assert_allclose(out_o.numpy(), out_t.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hc_o[1].numpy(), hc_t[1].numpy(), rtol=1e-5, atol=1e-6)
