"""cross_entropy against PyTorch on both of its paths: class indices without weights or
smoothing (no one-hot matrix) and the general one (weights, label smoothing, probabilities),
with ignore_index, every reduction and (N, C, d) inputs; values and gradients."""
import numpy as np
import pytest
import torch

import glassnet as gn
import glassnet.nn.functional as F


def _pair(shape, C, seed, ignore=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    t = rng.integers(0, C, (shape[0],) + shape[2:])
    flat = t.reshape(-1)
    flat[rng.permutation(flat.size)[:ignore]] = -100
    return x, t


@pytest.mark.parametrize("shape", [(37, 7), (5, 4, 3, 2)])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("ignore", [0, 9, "all"])
@pytest.mark.parametrize("kw", [{}, {"label_smoothing": 0.1},
                                {"weight": [0.5, 1, 2, 1.5, 0.3, 1, 1][:4]}])
def test_matches_torch(shape, reduction, ignore, kw):
    C = shape[1]
    if "weight" in kw and C != 4:
        kw = {"weight": [0.5, 1, 2, 1.5, 0.3, 1, 2][:C]}
    n_targets = shape[0] * int(np.prod(shape[2:]))
    x, t = _pair(shape, C, 0, n_targets if ignore == "all" else ignore)
    xg = gn.tensor(x, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    kg = {k: gn.tensor(np.array(v, np.float32)) if k == "weight" else v for k, v in kw.items()}
    kt = {k: torch.tensor(v) if k == "weight" else v for k, v in kw.items()}
    lg = F.cross_entropy(xg, gn.tensor(t), reduction=reduction, **kg)
    lt = torch.nn.functional.cross_entropy(xt, torch.tensor(t), reduction=reduction, **kt)
    np.testing.assert_allclose(lg.numpy(), lt.detach().numpy(), rtol=1e-5, atol=1e-6)
    rng = np.random.default_rng(1)
    seed = rng.standard_normal(lt.shape).astype(np.float32)
    (lg * gn.tensor(seed)).sum().backward()
    (lt * torch.tensor(seed)).sum().backward()
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-6)
