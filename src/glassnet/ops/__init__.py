"""Differentiable primitives. Each op computes its output and defines its backward right below.

Modules: ``elementwise`` (arithmetic, exp/log, comparisons), ``reduce`` (sum, mean, max, var,
logsumexp), ``shape`` (reshape, transpose, indexing, cat, pad), ``matmul`` (matmul, linear),
``activation`` (relu, sigmoid, tanh, softmax, gelu ...), ``stats`` (std, var_mean, norm,
cov), ``scan`` (cumsum, cumprod, cummax, logcumsumexp), ``index`` (gather, masks, nonzero),
``scattering`` (scatter, scatter_add, scatter_reduce), ``ordering`` (sort, topk, kthvalue,
median), ``pieces`` (split, chunk, unbind, unfold), ``arrange`` (flip, roll, movedim, tile,
repeat_interleave, meshgrid), ``triangular`` (tril/triu, diagonal, trace), ``einstein``
(einsum), ``combine`` (hstack, broadcast_tensors, rot90, diff, kron ...), ``counting``
(bincount, unique, searchsorted), ``index_update`` (index_add/copy/fill), ``like`` (expand_as,
new_zeros ...). ``norm`` (the vector norm) stays in ``stats``, so ``ops.norm`` remains the
normalisation module.
"""
from .activation import *  # noqa: F401,F403
from .elementwise import *  # noqa: F401,F403
from .matmul import *  # noqa: F401,F403
from .linear_chain import *  # noqa: F401,F403
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
from .scattering import *  # noqa: F401,F403
from .ordering import *  # noqa: F401,F403
from .pieces import *  # noqa: F401,F403
from .arrange import *  # noqa: F401,F403
from .triangular import *  # noqa: F401,F403
from .einstein import *  # noqa: F401,F403
from .combine import *  # noqa: F401,F403
from .counting import *  # noqa: F401,F403
from .index_update import *  # noqa: F401,F403
from .like import *  # noqa: F401,F403
from .math import *  # noqa: F401,F403
from .logic import *  # noqa: F401,F403
from .activation_ext import *  # noqa: F401,F403
from .special import *  # noqa: F401,F403
from .group_norm import *  # noqa: F401,F403
from .conv_nd import *  # noqa: F401,F403
from .pool_nd import *  # noqa: F401,F403
from .pool3d import *  # noqa: F401,F403
from ._util import same_device, unbroadcast  # noqa: F401,E402  (helpers shared with nn)
from .interpolate import *  # noqa: F401,F403
from .adaptive_pool import *  # noqa: F401,F403

from ..tensor import register_tensor_ops  # noqa: E402  (Tensor.clone/.to call these ops)
from .device import move as _move  # noqa: E402
from .elementwise import cast as _cast, clone as _clone  # noqa: E402

register_tensor_ops(clone=_clone, cast=_cast, move=_move)
