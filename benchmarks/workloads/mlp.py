"""mlp: Linear(784,512)-ReLU-Linear(512,256)-ReLU-Linear(256,10), CE, SGD(0.01, m=0.9), b=128."""
import numpy as np

from . import training_step

BATCH = 128


def _data(seed):
    rng = np.random.default_rng(seed)
    x = rng.random((BATCH, 784), dtype=np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int64)
    return x, y


def _torch_model(seed):
    import torch
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(),
                               torch.nn.Linear(512, 256), torch.nn.ReLU(),
                               torch.nn.Linear(256, 10))


def _init_state(seed):
    """Initial weights as NumPy arrays, drawn once so both frameworks start identical."""
    rng = np.random.default_rng(seed + 1)
    state = {}
    for i, (fin, fout) in zip((0, 2, 4), ((784, 512), (512, 256), (256, 10))):
        b = 1 / np.sqrt(fin)
        state[f"{i}.weight"] = rng.uniform(-b, b, (fout, fin)).astype(np.float32)
        state[f"{i}.bias"] = rng.uniform(-b, b, fout).astype(np.float32)
    return state


def make(framework: str, seed: int = 0):
    x, y = _data(seed)
    state = _init_state(seed)
    if framework == "torch":
        import torch
        model = _torch_model(seed)
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        loss_fn = torch.nn.CrossEntropyLoss()
        return training_step(model, loss_fn, opt, xt, yt)
    import glassnet as gn
    nn = gn.nn
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    model.load_state_dict(state)
    opt = gn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xg, yg = gn.tensor(x), gn.tensor(y)
    loss_fn = nn.CrossEntropyLoss()
    return training_step(model, loss_fn, opt, xg, yg)
