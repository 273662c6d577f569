"""Optimizers (one algorithm per file) and learning-rate schedulers.

Every optimizer updates ``p.array`` in place from ``p.grad`` and matches the corresponding
``torch.optim`` class step for step. Schedulers live in :mod:`glassnet.optim.lr_scheduler`.

Example:
    >>> from glassnet import optim
    >>> opt = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    >>> sched = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20)
"""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam
from .adamw import AdamW
from .nadam import NAdam
from .optimizer import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "NAdam", "lr_scheduler"]
