"""tiny: the course's 2-3-1 network — Linear(2,3)-Sigmoid-Linear(3,1)-Sigmoid, MSE,
SGD(lr=0.5), the 4 XOR points as one batch. Run with 1 thread (Python overhead dominates)."""
import numpy as np

from . import training_step

THREADS = 1
UNIT = "us/step"
X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
Y = np.array([[0], [1], [1], [0]], dtype=np.float32)


def _init_state(seed):
    rng = np.random.default_rng(seed + 1)
    return {"0.weight": rng.uniform(-1, 1, (3, 2)).astype(np.float32),
            "0.bias": rng.uniform(-1, 1, 3).astype(np.float32),
            "2.weight": rng.uniform(-1, 1, (1, 3)).astype(np.float32),
            "2.bias": rng.uniform(-1, 1, 1).astype(np.float32)}


def _layers(nn):
    return nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid()


def make(framework: str, seed: int = 0):
    state = _init_state(seed)
    if framework == "torch":
        import torch
        model = torch.nn.Sequential(*_layers(torch.nn))
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
        opt = torch.optim.SGD(model.parameters(), lr=0.5)
        return training_step(model, torch.nn.MSELoss(), opt, torch.from_numpy(X),
                             torch.from_numpy(Y))
    import glassnet as gn
    model = gn.nn.Sequential(*_layers(gn.nn))
    model.load_state_dict(state)
    opt = gn.optim.SGD(model.parameters(), lr=0.5)
    return training_step(model, gn.nn.MSELoss(), opt, gn.tensor(X), gn.tensor(Y))
