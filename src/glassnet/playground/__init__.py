"""The playground (``glassnet playground``): train small networks on 2-D data in a browser.

A learner picks a dataset (circles, XOR, two spirals, two gaussians, with noise), the hidden
layers, the activation, the learning rate, the batch size and the L1/L2 penalties, and
watches the decision boundary, the loss curves, every neuron's output over the plane and the
current step in the course's notation. Training runs here, in glassnet (``nn``, ``optim``);
the page (``static/``) polls a small JSON API (:mod:`glassnet.playground.server`, Flask:
``pip install 'glassnet[playground]'``).

Only :mod:`glassnet.cli` imports this package; importing it does not import Flask.
"""
from .datasets import DATASETS, make_dataset
from .model import ACTIVATIONS, Step, build_model
from .config import LIMITS, Config
from .session import Session, SessionNotFound, SessionStore

__all__ = ["DATASETS", "make_dataset", "ACTIVATIONS", "Step", "build_model", "LIMITS",
           "Config", "Session", "SessionNotFound", "SessionStore"]
