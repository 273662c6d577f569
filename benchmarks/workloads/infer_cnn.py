"""infer-cnn: the cnn workload's model in eval mode, one 1x28x28 image per forward, no grad."""
import numpy as np

from .cnn import _init_state, _layers

UNIT = "ms/forward"


def make(framework: str, seed: int = 0):
    x = np.random.default_rng(seed).random((1, 1, 28, 28), dtype=np.float32)
    state = _init_state(seed)
    if framework == "torch":
        import torch
        model = torch.nn.Sequential(*_layers(torch.nn)).eval()
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
        xt = torch.from_numpy(x)

        def forward():
            with torch.no_grad():
                model(xt)
        return forward
    import glassnet as gn
    model = gn.nn.Sequential(*_layers(gn.nn)).eval()
    model.load_state_dict(state)
    xg = gn.tensor(x)

    def forward():
        with gn.no_grad():
            model(xg)
    return forward
