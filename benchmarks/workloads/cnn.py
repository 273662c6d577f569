"""cnn: Conv2d(1,32,3,p=1)-ReLU-MaxPool2d(2)-Conv2d(32,64,3,p=1)-ReLU-MaxPool2d(2)-Flatten-
Linear(3136,128)-ReLU-Linear(128,10) on 1x28x28, CE, SGD(0.01, m=0.9), batch 64."""
import numpy as np

from . import training_step

BATCH = 64
_LAYERS = (("0", (32, 1, 3, 3)), ("3", (64, 32, 3, 3)), ("7", (128, 3136)), ("9", (10, 128)))


def _data(seed):
    rng = np.random.default_rng(seed)
    x = rng.random((BATCH, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, BATCH).astype(np.int64)
    return x, y


def _init_state(seed):
    """Initial weights as NumPy arrays, drawn once so both frameworks start identical."""
    rng = np.random.default_rng(seed + 1)
    state = {}
    for name, shape in _LAYERS:
        b = 1 / np.sqrt(np.prod(shape[1:]))
        state[f"{name}.weight"] = rng.uniform(-b, b, shape).astype(np.float32)
        state[f"{name}.bias"] = rng.uniform(-b, b, shape[0]).astype(np.float32)
    return state


def _layers(nn):
    return (nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(3136, 128), nn.ReLU(), nn.Linear(128, 10))


def make(framework: str, seed: int = 0):
    x, y = _data(seed)
    state = _init_state(seed)
    if framework == "torch":
        import torch
        torch.manual_seed(seed)
        model = torch.nn.Sequential(*_layers(torch.nn))
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        loss_fn = torch.nn.CrossEntropyLoss()
        return training_step(model, loss_fn, opt, xt, yt)
    import glassnet as gn
    model = gn.nn.Sequential(*_layers(gn.nn))
    model.load_state_dict(state)
    opt = gn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    xg, yg = gn.tensor(x), gn.tensor(y)
    loss_fn = gn.nn.CrossEntropyLoss()
    return training_step(model, loss_fn, opt, xg, yg)
