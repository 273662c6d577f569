"""``glassnet.special``: the functions of ``torch.special`` that glassnet has, under the same
names (implemented in ``glassnet.ops``; forward and derivative side by side there).

Example:
    >>> gn.special.expit(gn.tensor([0.0]))      # the logistic sigmoid: tensor([0.5000])
"""
from .ops import (digamma, entr, erf, erfc, erfinv, exp2, expm1, gammaln, log1p,
                  log_softmax, logit, logsumexp, ndtr, round, sigmoid, sinc, softmax, xlogy)

__all__ = ["digamma", "psi", "entr", "erf", "erfc", "erfinv", "exp2", "expit", "expm1",
           "gammaln", "log1p", "log_softmax", "logit", "logsumexp", "ndtr", "round", "sinc",
           "softmax", "xlogy"]

expit = sigmoid
psi = digamma
