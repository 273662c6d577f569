"""Stochastic gradient descent with optional momentum, dampening, Nesterov and weight decay."""
from __future__ import annotations

import numpy as np

from .. import blas
from ..backend import xp_of
from ..ops.fused import sgd_takes, sgd_updates
from .optimizer import Optimizer

__all__ = ["SGD"]

SMALL = 4096    # parameters up to this many elements take fresh temporaries, not _scratch
CHUNK = 1 << 16     # larger ones are updated in blocks of this many elements (fits in L2)
# A group whose parameters hold this many elements in all or more updates its float32 ones
# in one compiled call; below it NumPy's per-tensor passes cost less than the call and its
# checks (the lecture's 2-3-1 network, four tensors of 13 values: its step ~20% slower).
FUSED_MIN = 1 << 12


class SGD(Optimizer):
    r"""Stochastic gradient descent, with the same update as ``torch.optim.SGD``.

    For each parameter :math:`\theta` with gradient :math:`g` at step :math:`t`:

    .. math::
        g &\leftarrow g + \lambda\,\theta                         &&\text{(weight decay)} \\
        b_t &= \mu\, b_{t-1} + (1-\tau)\, g, \quad b_1 = g        &&\text{(momentum)} \\
        g &\leftarrow g + \mu\, b_t \text{ (Nesterov) or } b_t    \\
        \theta &\leftarrow \theta - \eta\, g

    Args:
        params: parameters or parameter groups (see :class:`Optimizer`).
        lr: learning rate :math:`\eta` (>= 0).
        momentum: momentum factor :math:`\mu` (>= 0, default 0 = plain SGD).
        dampening: dampening :math:`\tau` for momentum (default 0).
        weight_decay: L2 penalty :math:`\lambda` (>= 0, default 0).
        nesterov: use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).

    State per parameter: ``momentum_buffer`` (only when ``momentum != 0``).

    Example:
        >>> opt = SGD(model.parameters(), lr=0.01, momentum=0.9)
        >>> opt.zero_grad(); loss_fn(model(x), y).backward(); opt.step()
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=nesterov)
        super().__init__(params, defaults)

    def _check(self, group: dict) -> None:
        super()._check(group)
        self._require(group, "momentum", ">= 0", lambda m: m >= 0)
        self._require(group, "dampening", "a number", lambda d: True)
        self._require(group, "weight_decay", ">= 0", lambda wd: wd >= 0)
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD(nesterov=True): Nesterov momentum requires momentum > 0 and "
                             f"dampening = 0, got momentum={group['momentum']!r}, "
                             f"dampening={group['dampening']!r}")

    def step(self, closure=None):
        """Apply one update to every parameter that has a gradient (see the class docstring).

        Where the kernels are on, the group's float32 host parameters are updated in one
        compiled call (``ops.fused.sgd_updates``, PyTorch's foreach update), when they hold
        ``FUSED_MIN`` elements or more in all. Others (float64, CuPy, views): with MKL
        on (``glassnet.blas``), a large parameter without weight decay or Nesterov is updated
        by MKL's threaded axpby; otherwise a large parameter is updated block by block
        (``CHUNK`` elements): every pass then reads its block from cache instead of memory
        (mlp: 460 → 330 µs/step).
        """
        loss = self._run_closure(closure)
        for group in self.param_groups:
            hyper = (float(group["lr"]), float(group["momentum"]), float(group["dampening"]),
                     float(group["weight_decay"]), bool(group["nesterov"]))
            momentum = hyper[1]
            todo, total = [], 0
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    continue
                theta = p.array
                buf, first = None, False
                if momentum != 0:
                    state = self._state(p)
                    buf = state.get("momentum_buffer")
                    if buf is None:                          # first step: b = g
                        buf = state["momentum_buffer"] = xp_of(theta).empty_like(theta)
                        first = True
                todo.append((p, theta, grad.array, buf, first))
                total += theta.size
            if total < FUSED_MIN:                            # a few small tensors: NumPy
                for item in todo:
                    self._update_one(*item, hyper)
                continue
            fused = {False: ([], [], []), True: ([], [], [])}    # first step or not
            for item in todo:
                p, theta, g, buf, first = item
                if sgd_takes(theta, g, buf):
                    for lst, a in zip(fused[first], (theta, g, buf)):
                        lst.append(a)
                else:
                    self._update_one(*item, hyper)
            for first, (thetas, gs, bufs) in fused.items():
                if thetas:
                    sgd_updates(thetas, gs, bufs if momentum != 0 else None, first, *hyper)
        return loss

    def _update_one(self, p, theta, g, buf, first: bool, hyper: tuple) -> None:
        """One parameter's update where the compiled call does not take it."""
        weight_decay = hyper[3]
        xp = np if type(theta) is np.ndarray else xp_of(theta)
        n = theta.size
        if n <= SMALL and buf is None and weight_decay == 0:
            theta -= g * hyper[0]                    # plain SGD on a small tensor
        elif n <= SMALL:                             # a fresh temporary is cheaper
            _update(xp, theta, g, buf, first, xp.empty_like(theta),
                    xp.empty_like(theta) if weight_decay != 0 else None, hyper)
        elif weight_decay == 0 and not hyper[4] and n >= blas.MIN_AXPBY and \
                _blas_update(theta, g, buf, first, hyper):
            pass                                     # two threaded MKL passes
        elif n > CHUNK and xp is np and theta.flags.c_contiguous and \
                g.flags.c_contiguous and g.dtype == theta.dtype and \
                (buf is None or buf.flags.c_contiguous):
            flat = [a.reshape(-1) for a in (theta, g, buf) if a is not None]
            tmp, dtmp = self._chunk_scratch(theta.dtype)
            for lo in range(0, n, CHUNK):
                hi = min(n, lo + CHUNK)
                th, gr = flat[0][lo:hi], flat[1][lo:hi]
                _update(xp, th, gr, None if buf is None else flat[2][lo:hi], first,
                        tmp[:hi - lo], dtmp[:hi - lo], hyper)
        else:
            _update(xp, theta, g, buf, first, self._scratch(p, 0),
                    self._scratch(p, 1) if weight_decay != 0 else None, hyper)

    def _chunk_scratch(self, dtype) -> tuple:
        """Two CHUNK-sized temporaries of ``dtype`` (kept between steps)."""
        work = self.__dict__.setdefault("_chunk_work", {})
        found = work.get(dtype)
        if found is None:
            found = work[dtype] = (np.empty(CHUNK, dtype), np.empty(CHUNK, dtype))
        return found


def _blas_update(theta, g, buf, first: bool, hyper: tuple) -> bool:
    """The update without weight decay or Nesterov as MKL's threaded ``axpby`` (b ← (1−τ)g +
    μb, θ ← θ − ηb: two passes where NumPy makes four; mlp, 2 threads: 358 → 157 µs), or
    False when MKL cannot take these arrays (nothing is changed then)."""
    lr, momentum, dampening = hyper[:3]
    if buf is None or first:                         # θ −= ηg (and b_1 = g)
        if not blas.axpby(-lr, g, 1.0, theta):
            return False
        if buf is not None:
            np.copyto(buf, g)
        return True
    if not blas.axpby(1.0 - dampening, g, momentum, buf):
        return False
    if not blas.axpby(-lr, buf, 1.0, theta):
        theta -= buf * lr
    return True


def _update(xp, theta, g, buf, first: bool, tmp, dtmp, hyper: tuple) -> None:
    """One SGD update of ``theta`` in place (a whole parameter or one block of it).

    ``buf``: the momentum buffer (None without momentum), filled from the gradient when
    ``first``; ``tmp``/``dtmp``: scratch arrays shaped like ``theta`` (``dtmp`` only with
    weight decay).
    """
    lr, momentum, dampening, weight_decay, nesterov = hyper
    if weight_decay != 0:
        xp.multiply(theta, weight_decay, out=dtmp)
        dtmp += g                                    # g + λθ
        d_p = dtmp
    else:
        d_p = g
    if buf is not None:
        if first:                                    # b_1 = g
            xp.copyto(buf, d_p)
        else:                                        # b = μb + (1-τ)g
            buf *= momentum
            if dampening != 0:
                xp.multiply(d_p, 1.0 - dampening, out=tmp)
                buf += tmp
            else:
                buf += d_p
        if nesterov:                                 # g + μb
            xp.multiply(buf, momentum, out=tmp)
            tmp += d_p
            d_p = tmp
        else:
            d_p = buf
    xp.multiply(d_p, lr, out=tmp)                    # θ -= ηg
    theta -= tmp
