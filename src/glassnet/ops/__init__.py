"""Differentiable primitives. Each op computes its output and defines its backward right below.

Modules: ``elementwise`` (arithmetic, exp/log, comparisons), ``reduce`` (sum, mean, max, var,
logsumexp), ``shape`` (reshape, transpose, indexing, cat, pad), ``matmul`` (matmul, linear),
``activation`` (relu, sigmoid, tanh, softmax, gelu ...), ``stats`` (std, var_mean, norm),
``scan`` (cumsum, cumprod, cummax, logcumsumexp), ``index`` (gather/scatter, masks, nonzero),
``sort`` (sort, topk, kthvalue, median), ``split`` (split, chunk, unbind, unfold), ``arrange``
(flip, roll, movedim, tile, repeat_interleave, meshgrid), ``diag`` (tril/triu, diagonal,
trace), ``einsum``.
"""
from .activation import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .matmul import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .recurrent import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .pool import *  # noqa: F401,F403
from .norm import *  # noqa: F401,F403
from .convlstm import *  # noqa: F401,F403
from .stats import *  # noqa: F401,F403
from .scan import *  # noqa: F401,F403
from .index import *  # noqa: F401,F403  (its where() adds PyTorch's one-argument form)
from .sort import *  # noqa: F401,F403
from .split import *  # noqa: F401,F403
from .arrange import *  # noqa: F401,F403
from .diag import *  # noqa: F401,F403
from .einsum import *  # noqa: F401,F403
from .math import *  # noqa: F401,F403
from .logic import *  # noqa: F401,F403
from .activation_ext import *  # noqa: F401,F403
from .group_norm import *  # noqa: F401,F403
from .conv_nd import *  # noqa: F401,F403
from .pool_nd import *  # noqa: F401,F403
from ._util import same_device, unbroadcast  # noqa: F401,E402  (helpers shared with nn)
from .interpolate import *  # noqa: F401,F403
from .adaptive_pool import *  # noqa: F401,F403
