"""Adapter: ``load_state_dict(layer, state_dict)`` → glassnet's ``Module.load_state_dict``."""
from ..tensor import Tensor


def load_state_dict(model, state_dict, strict=True, verbose=False, consume=False):
    sd = {k: v.t if isinstance(v, Tensor) else v for k, v in state_dict.items()}
    return model.m.load_state_dict(sd, strict=strict)


def get_state_dict(model):
    return {k: Tensor(v) for k, v in model.m.state_dict().items()}
