"""What the three cells share: the input record, the run record, and the preparation.

``prepare`` does everything before the time loop that does not depend on the cell's
equations: checks, the gate scaling of the weights, the summed bias, the input projection of
all time steps (one GEMM, or one V-row GEMM and a gather for an :class:`EmbeddedInput`), the
state buffer S and the length mask. It returns a :class:`LayerRun`, the one record the cell's
forward fills in and its backward through time reads.
"""
import functools
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from ...backend import device_of, to_device, to_host, xp_of
from ...tensor import Tensor, is_grad_enabled
from ...blas import matmul as gemm, product_plan, repeated
from .. import _fast
from .._util import same_device

MODES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}   # gate blocks per mode


class EmbeddedInput(NamedTuple):
    """A layer input given as an embedding lookup, x = weight[ids] (see the package docstring).

    ids: int array (L, N), time-major like x. weight: the (V, H_in) table Tensor; its gradient
    comes out of the recurrent op directly. padding_idx: a row whose gradient stays zero.
    """
    ids: np.ndarray
    weight: Tensor
    padding_idx: int | None = None


@dataclass(eq=False)
class LayerRun:
    """One layer over one sequence: its inputs, the prepared weights, and the saved state.

    Inputs: ``src`` is the graph parent in x's place (x itself, or the embedding table);
    ``X`` is x's array (None for an EmbeddedInput, then ``emb`` holds the ids).
    Forward only (``release`` drops them after the time loop): ``XW`` the input projection
    of every step, ``WT`` the (scaled) W_hhᵀ, ``product`` its planned per-step product,
    ``row_scale`` the per-gate-row factor applied to products instead of the weights (few
    rows: generation), ``bhn`` GRU's b_hn.
    Saved for backward: ``S`` (k, L+1, N, H) the states (S[0] hidden, S[1] cell for LSTM;
    forward: S[:, 0] initial and S[:, t+1] after step t; reverse: S[:, L] initial, S[:, t]
    after step t), ``acts`` the gate activations, ``aux`` tanh(c_t) (LSTM) or W_hn h + b_hn
    (GRU), ``M``/``P`` the LSTM's backward factors, ``mask``/``keep`` (L, N, 1) valid steps and
    their complement, ``zero_h0`` (h0 is all zeros: its step needs no GEMM).
    ``kernels``: the compiled kernels (``ops._fast``) when this layer runs its steps with them
    (float32 on the host, the kernels on), else None. They read step t's input projection
    as rows ``XW[rows[t]]`` (``rows`` (L, N)): with an embedding input XW is the V-row table
    itself (it stays in cache; no L·N-row gather), else the L·N rows in order.
    """
    mode: str
    xp: Any
    src: Tensor
    X: Any
    emb: EmbeddedInput | None
    h0: Tensor
    c0: Tensor | None
    w_ih: Tensor
    w_hh: Tensor
    b_ih: Tensor | None
    b_hh: Tensor | None
    reverse: bool
    need_grad: bool
    L: int
    N: int
    H: int
    XW: Any = None
    WT: Any = None
    row_scale: Any = None
    bhn: Any = None
    S: Any = None
    acts: Any = None
    aux: Any = None
    M: Any = None
    P: Any = None
    mask: Any = None
    keep: Any = None
    zero_h0: bool = False
    kernels: Any = None
    rows: Any = None
    product: Any = None

    def steps(self):
        """Time steps in processing order."""
        return range(self.L - 1, -1, -1) if self.reverse else range(self.L)

    def state_index(self, t: int) -> tuple:
        """(index of the state before step t, index of the state after it) in S."""
        return (t + 1, t) if self.reverse else (t, t + 1)

    @property
    def first(self) -> int:
        """The first step processed (its previous state is h0)."""
        return self.L - 1 if self.reverse else 0

    def recur(self, h_prev, out, t: int) -> None:
        """out = h_{t-1}·W_hhᵀ (scaled): one GEMM, or zeros at the first step when h0 = 0.
        The product is planned at the first call (``blas.repeated``: W_hhᵀ in MKL's packed
        layout, then a direct call per step)."""
        if self.zero_h0 and t == self.first:
            out.fill(0)
            return
        if self.product is None:
            self.product = repeated(self.WT, self.N)
        self.product(h_prev, out)
        if self.row_scale is not None:
            out *= self.row_scale

    def loop_product(self, a, out, G=None):
        """``blas.product_plan`` of the per-step product for a compiled time loop (forward:
        out = h·W_hhᵀ; with ``G``, the gradient on S, backward: out = dA_t·W_hh), or None
        where the Python step loop runs instead: lengths masking steps, a single step, MKL
        not taking the product, or a gradient that is not one contiguous block."""
        if self.mask is not None or self.L < 2 or (G is not None and not G.flags.c_contiguous):
            return None
        return product_plan(self.WT if G is None else self.w_hh.array, self.N, a, out)

    def recur_grad(self):
        """f(dA_t, out): out = dA_t·W_hh, the per-step product of backward through time
        (``blas.repeated``, W_hh packed)."""
        return repeated(self.w_hh.array, self.N)

    def backward_steps(self):
        """(t, q, to_h) in backward order: step t, the S index of the state it produced, and
        whether its gradient must flow on to h_{t-1} (not at the first step unless h0 wants
        it: that ·W_hh GEMM is skipped)."""
        order = range(self.L) if self.reverse else range(self.L - 1, -1, -1)
        first, want_h0 = self.first, self.h0.requires_grad
        for t in order:
            yield t, (t if self.reverse else t + 1), t != first or want_h0

    def pass_back(self, recur, D, t: int, to_h: bool, dT, out, passing) -> None:
        """The end of backward step t (RNN, LSTM): D's per-id sums into dT (an embedding
        input; None: none) and, where the gradient flows on to h_{t-1}, out = D·W_hh
        (``recur``) plus ``passing``, the part that passed a padded step (None: none)."""
        if dT is not None:
            self.kernels.add_rows(D, self.rows[t], dT)
        if to_h:
            recur(D, out)
            if passing is not None:
                out += passing

    def hold(self, d, t: int):
        """At a padded step the state passes through: split d into the part that passes
        (returned, None without lengths) and the part the step sees (d, masked in place)."""
        if self.mask is None:
            return None
        m = self.mask[t]
        passing = d * (1 - m)
        d *= m
        return passing

    def release(self) -> None:
        """Drop the forward-only buffers (the input projection is L·N·G·H floats)."""
        self.XW = self.WT = self.product = self.row_scale = self.bhn = None


def _make_gate_scale(xp, mode, H, dt):
    """Per-row factors folded into the gate pre-activations (see ``prepare``); None for RNNs."""
    if mode == "LSTM":
        scale = xp.full((4 * H, 1), -1, dt)
        scale[2 * H:3 * H] = -2
    elif mode == "GRU":
        scale = xp.ones((3 * H, 1), dt)
        scale[:2 * H] = -1
    else:
        return None
    return scale


@functools.lru_cache(maxsize=16)
def _gate_scale(mode, H, dt):
    """Host copy of ``_make_gate_scale``, made once per (mode, H, dtype) and never written."""
    scale = _make_gate_scale(np, mode, H, dt)
    if scale is not None:
        scale.flags.writeable = False
    return scale


def prepare(mode, x, h0, c0, w_ih, w_hh, b_ih, b_hh, lengths, reverse) -> LayerRun:
    """Checks, scaled weights, input projection, state buffer and mask (module docstring)."""
    emb = x if isinstance(x, EmbeddedInput) else None
    src = emb.weight if emb is not None else x
    same_device(mode.lower(), src, h0, c0, w_ih, w_hh, b_ih, b_hh)
    xp = xp_of(src.array)                                # the array module, once per call
    if emb is not None:                                 # ids on the table's device
        X, ids = None, emb.ids if xp is np else to_device(emb.ids, device_of(src.array))
        (L, N), Hin = ids.shape, src.shape[1]
    else:
        X = x.array
        L, N, Hin = X.shape
    Whh, dt = w_hh.array, w_hh.array.dtype
    GH, H = Whh.shape
    lstm, gru = mode == "LSTM", mode == "GRU"
    need = is_grad_enabled() and any(p is not None and p.requires_grad
                                     for p in (src, h0, c0, w_ih, w_hh, b_ih, b_hh))
    run = LayerRun(mode, xp, src, X, emb, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, need,
                   L, N, H)
    if xp is np and dt == np.float32:
        run.kernels = _fast.kernels()
        if run.kernels is not None:
            _fast.note(mode.lower())

    # Sigmoid gates are computed as 1/(1 + exp(−a)): their rows of W_ih, W_hh and the biases
    # are negated up front, so a step needs exp, +1, 1/x. LSTM's g = tanh(a) = 2σ(2a) − 1 uses
    # a scale of −2 on its rows. GRU's n rows keep tanh (it needs r·(W_hn h + b_hn) unscaled).
    # The compiled steps negate and double inside the kernel: no scaling, W_hhᵀ stays a view.
    if run.kernels is not None:
        scale = None
    else:
        scale = _gate_scale(mode, H, dt) if xp is np else _make_gate_scale(xp, mode, H, dt)
    # Few rows (generation: L = N = 1) make scaling the products cheaper than scaling and
    # copying the weights: then W_hhᵀ stays a view and each step's (N, G·H) product is scaled.
    n_rows = L * N + (src.shape[0] if emb is not None else L * N)
    row_scale = scale[:, 0] if scale is not None and n_rows < H + Hin else None
    if row_scale is not None or run.kernels is not None:
        Wih, WT = w_ih.array, Whh.T
    else:
        Wih = w_ih.array if scale is None else w_ih.array * scale
        WT = xp.empty((H, GH), dt)
        xp.copyto(WT, (Whh if scale is None else Whh * scale).T)
    bias = None                                 # b_ih + b_hh where they commute (not GRU's n)
    if b_ih is not None or b_hh is not None:
        bias = xp.zeros(GH, dt)
        if b_ih is not None:
            bias += b_ih.array
        if b_hh is not None:
            bias[:2 * H if gru else GH] += b_hh.array[:2 * H if gru else GH]
        if scale is not None and row_scale is None:
            bias *= scale[:, 0]
    run.WT, run.row_scale = WT, row_scale
    run.bhn = b_hh.array[2 * H:] if gru and b_hh is not None else None
    # input projection of all steps: one GEMM (LSTM: one per gate, see below), or with an
    # embedding input one GEMM over the V table rows and a gather
    rows = src.array if emb is not None else X.reshape(L * N, Hin)
    if lstm and run.kernels is None:
        # LSTM on NumPy works gate-major, (4, N, H) per step: a gate is then one contiguous
        # block, and element-wise ufuncs on contiguous blocks run ~3x faster than on column
        # slices of an (N, 4H) array. The step's GEMM stays one (N, H)·(H, 4H) product (one
        # threaded BLAS call, not four), and adding XW moves it to the gate-major A. The
        # compiled LSTM kernels read rows: (L, N, 4H) like the other cells.
        XW = gemm(rows, Wih.reshape(4, H, Hin).transpose(0, 2, 1))
        if bias is not None:
            XW += bias.reshape(4, 1, H)
        if row_scale is not None:
            XW *= row_scale.reshape(4, 1, H)
        if emb is not None:
            XW = xp.take(XW, ids.reshape(-1), axis=1)
        run.XW = XW.reshape(4, L, N, H)
    else:
        XW = gemm(rows, Wih.T)
        if bias is not None:
            XW += bias
        if row_scale is not None:
            XW *= row_scale
        if run.kernels is not None:             # the compiled steps read rows of a table
            if emb is not None:                 # the V projected rows, read by id
                V = XW.shape[0]
                if ids.size and not (0 <= ids.min() and ids.max() < V):
                    raise IndexError(f"{mode.lower()}: embedding ids must lie in [0, {V}), got "
                                     f"{ids.min()}..{ids.max()}")
                run.rows = np.ascontiguousarray(ids, np.intp)
            else:
                run.rows = np.arange(L * N).reshape(L, N)
            run.XW = XW
        else:
            if emb is not None:
                XW = xp.take(XW, ids.reshape(-1), axis=0)
            run.XW = XW.reshape(L, N, GH)

    run.S = S = xp.empty((2 if lstm else 1, L + 1, N, H), dt)
    i0 = L if reverse else 0
    S[0, i0] = h0.array
    if lstm:
        S[1, i0] = c0.array
    if lengths is not None:
        lens = to_host(lengths).reshape(1, N)           # the mask is made on the host
        mask = (np.arange(L).reshape(L, 1) < lens).astype(dt)[:, :, None]   # (L, N, 1)
        if xp is not np:
            mask = to_device(mask, device_of(src.array))
        run.mask, run.keep = mask, mask == 0
    run.zero_h0 = L > 1 and not h0.array.any()   # the usual h0 = 0: step `first` needs no GEMM
    return run
