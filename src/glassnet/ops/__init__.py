"""Differentiable primitives. Each op computes its output and defines its backward right below.

Modules: ``elementwise`` (arithmetic, exp/log, comparisons), ``reduce`` (sum, mean, max, var,
logsumexp), ``shape`` (reshape, transpose, indexing, cat, pad), ``matmul`` (matmul, linear),
``activation`` (relu, sigmoid, tanh, softmax, gelu ...).
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
from .math import *  # noqa: F401,F403
from .logic import *  # noqa: F401,F403
from .activation_ext import *  # noqa: F401,F403
from .group_norm import *  # noqa: F401,F403
from .conv_nd import *  # noqa: F401,F403
