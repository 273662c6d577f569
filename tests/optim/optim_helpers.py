"""Run the same optimizer in glassnet and PyTorch on the same parameters and gradients.

The gradient at step t is ``0.5 * theta + noise[t]`` (a quadratic plus fixed noise), computed
in float32 NumPy from each framework's *own* current parameters, so the two trajectories only
stay together if the updates agree.
"""
import numpy as np
import torch

import glassnet as gn

SHAPES = [(5, 3), (3,), (2, 2, 2)]


def initial_params(seed=0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(np.float32) for s in SHAPES]


def noise(steps, seed=1):
    rng = np.random.default_rng(seed)
    return [[rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(steps)]


def grad_of(theta, n):
    return (np.float32(0.5) * theta + n).astype(np.float32)


def gn_params(arrays):
    return [gn.tensor(a.copy(), requires_grad=True) for a in arrays]


def torch_params(arrays):
    return [torch.tensor(a.copy(), requires_grad=True) for a in arrays]


def groups(params, group_opts):
    """Split params into groups: group_opts is None (one flat list) or a list of
    (indices, overrides) pairs."""
    if group_opts is None:
        return params
    return [{"params": [params[i] for i in idx], **extra} for idx, extra in group_opts]


def gn_steps(opt, params, noises, skip=()):
    out = []
    for t, ns in enumerate(noises):
        for i, (p, n) in enumerate(zip(params, ns)):
            p.grad = None if (t, i) in skip else gn.tensor(grad_of(p.array, n))
        opt.step()
        out.append([p.array.copy() for p in params])
    return out


def torch_steps(opt, params, noises, skip=()):
    out = []
    for t, ns in enumerate(noises):
        for i, (p, n) in enumerate(zip(params, ns)):
            p.grad = None if (t, i) in skip else torch.from_numpy(grad_of(p.detach().numpy(), n))
        opt.step()
        out.append([p.detach().numpy().copy() for p in params])
    return out
