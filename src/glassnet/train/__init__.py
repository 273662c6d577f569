"""Training: the fit loop, evaluation, prediction, callbacks, metrics and model summary.

    from glassnet.train import fit, evaluate, EarlyStopping, ModelCheckpoint
    history = fit(model, nn.CrossEntropyLoss(), opt, train_loader, val_loader, epochs=10,
                  callbacks=[EarlyStopping(patience=3), ModelCheckpoint("run/checkpoints")])
    evaluate(model, test_loader, nn.CrossEntropyLoss())
"""
from .callbacks import (Callback, CSVLogger, EarlyStopping, JSONLLogger, LRSchedulerCallback,
                        ModelCheckpoint, ProgressBar)
from .loop import (FitContext, History, NonFiniteLossError, evaluate, extra_callbacks, fit,
                   predict)
from .metrics import METRICS, accuracy
from .summary import summary

__all__ = ["fit", "evaluate", "predict", "extra_callbacks", "History", "FitContext",
           "NonFiniteLossError",
           "Callback", "ProgressBar", "EarlyStopping", "LRSchedulerCallback", "CSVLogger",
           "JSONLLogger", "ModelCheckpoint", "summary", "accuracy", "METRICS"]
