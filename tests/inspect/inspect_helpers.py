"""Shared helpers for the inspect tests: a glassnet SGD and twin glassnet/PyTorch MLPs."""
import numpy as np

import glassnet as gn


def sgd(params, lr=0.1, momentum=0.0):
    """glassnet's SGD, wherever it is exported from."""
    try:
        return gn.optim.SGD(params, lr=lr, momentum=momentum)
    except AttributeError:
        from glassnet.optim.sgd import SGD
        return SGD(params, lr=lr, momentum=momentum)


def twin_mlp(sizes=(2, 3, 1), act="ReLU", seed=0):
    """The same MLP in glassnet and PyTorch, with identical weights."""
    import torch
    rng = np.random.default_rng(seed)
    g_layers, t_layers = [], []
    for i, (fin, fout) in enumerate(zip(sizes[:-1], sizes[1:])):
        g_layers.append(gn.nn.Linear(fin, fout))
        t_layers.append(torch.nn.Linear(fin, fout))
        if i < len(sizes) - 2:
            g_layers.append(getattr(gn.nn, act)())
            t_layers.append(getattr(torch.nn, act)())
    g, t = gn.nn.Sequential(*g_layers), torch.nn.Sequential(*t_layers)
    state = {k: rng.uniform(-1, 1, v.shape).astype(np.float32) for k, v in g.state_dict().items()}
    g.load_state_dict(state)
    t.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    return g, t
