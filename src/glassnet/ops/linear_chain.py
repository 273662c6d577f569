"""A chain of linear layers, each optionally followed by a ReLU, as one graph node
("LinearChainBackward"): the forward and the backward each run as one compiled call
(``linear_chain_forward``/``_backward`` in ``ops/kernels/chain.c``), MKL's products called
from C. The values are those of :func:`ops.linear_relu` and :func:`ops.linear` run layer by
layer (the same products and passes in the same order; the products of few multiply-adds,
which those hand to NumPy, run on MKL here, so the last bits of those can differ); what it
saves is the ~10 Python calls a layer costs each way (the mlp benchmark's step: 3 layers).
``nn.Sequential`` runs its plain Linear(+ReLU) runs of two or more Linear layers through it.
"""
import numpy as np

from .. import blas
from ..tensor import Tensor, make, records
from . import _fast
from .fused import BIAS_MIN, SUM_MIN

__all__ = ["linear_chain"]

_F32 = np.dtype(np.float32)


def _fits(a, shape) -> bool:
    return type(a) is np.ndarray and a.dtype is _F32 and a.shape == shape and \
        a.flags.c_contiguous


def linear_chain(x: Tensor, layers: list) -> Tensor | None:
    """relu?(… relu?(x·W1ᵀ + b1) …·Wnᵀ + bn) for ``layers`` = [(weight, bias or None, relu),
    …]: x (N, in) float32, weight i (out_i, out_{i-1}), bias i (out_i,). None, having done
    nothing, where it does not apply (other shapes, dtypes or layouts, devices, the kernels
    or MKL off): the caller runs the layers one by one then."""
    k = _fast.kernels()
    xd = x.array
    if k is None or not layers or type(xd) is not np.ndarray or xd.dtype is not _F32 or \
            xd.ndim != 2 or not xd.flags.c_contiguous or 0 in xd.shape:
        return None
    prev = xd.shape[1]
    for w, b, _ in layers:
        wa = w.array
        if type(wa) is not np.ndarray or wa.ndim != 2 or not _fits(wa, (wa.shape[0], prev)) \
                or wa.shape[0] == 0 or (b is not None and not _fits(b.array, wa.shape[:1])):
            return None
        prev = wa.shape[0]
    fn = blas.gemm_address(_F32)
    if fn is None:
        return None
    params = [t for w, b, _ in layers for t in (w, b)]
    recording = records(x, *params)
    ffi, N, n = k.ffi, xd.shape[0], len(layers)
    steps = ffi.new("chain_layer[]", n)
    keep, outs = [], [xd]

    def ptr(a, kind="float[]"):
        c = ffi.from_buffer(kind, a)
        keep.append(c)
        return c

    for s, (w, b, relu) in zip(steps, layers):
        out_f, in_f = w.array.shape
        dst = np.empty((N, out_f), _F32)
        s.n_in, s.n_out, s.relu = in_f, out_f, bool(relu)
        s.nt_fwd = _fast.threads_for(N * out_f, BIAS_MIN)
        s.nt_bwd = _fast.threads_for(N * out_f, SUM_MIN)
        s.w, s.src, s.dst = ptr(w.array), ptr(outs[-1]), ptr(dst)
        if b is not None:
            s.b = ptr(b.array)
        elif relu:                          # relu(y + 0): the same values as relu(y)
            s.b = ptr(np.zeros(out_f, _F32))
        if relu and recording:
            s.mask = ptr(np.empty((N, out_f), np.bool_), "uint8_t[]")
        outs.append(dst)
    k.lib.linear_chain_forward(fn, steps, n, N)
    _fast.note("linear_chain")
    y = outs[-1]
    if not recording:
        return make(y, (), None, "LinearChainBackward")

    # The backward stops at the lowest layer that needs a gradient: the layers below it (a
    # frozen bottom) get no buffers and no products, as the engine skips ops without one.
    low = 0 if x.requires_grad else min(i for i, (w, b, _) in enumerate(layers) if
                                        w.requires_grad or (b is not None and b.requires_grad))

    def backward(g):
        g = np.ascontiguousarray(g, _F32)
        grads = [None] * (1 + 2 * n)
        for i, (s, (w, b, relu)) in enumerate(zip(steps, layers)):
            if i < low:
                continue
            out_f, in_f = w.array.shape
            if relu:
                s.gz = ptr(np.empty((N, out_f), _F32))
            if w.requires_grad:
                grads[1 + 2 * i] = dw = np.empty((out_f, in_f), _F32)
                s.dw = ptr(dw)
            if relu or (b is not None and b.requires_grad):     # relu: the sums are written
                db = np.empty(out_f, _F32)
                s.db = ptr(db)
                if b is not None and b.requires_grad:
                    grads[2 + 2 * i] = db
            if i > low or x.requires_grad:
                dsrc = np.empty((N, in_f), _F32)
                s.dsrc = ptr(dsrc)
                if i == 0:
                    grads[0] = dsrc
        k.lib.linear_chain_backward(fn, steps + low, n - low, N, ptr(g))
        return tuple(grads)
    return make(y, (x, *params), backward, "LinearChainBackward")
