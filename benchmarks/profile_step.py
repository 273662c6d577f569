"""Where one glassnet training step's time goes: per graph op, GEMMs vs element-wise vs copies.

    OPENBLAS_NUM_THREADS=1 python benchmarks/profile_step.py cnn --steps 20
    python benchmarks/profile_step.py lstm --threads 2 --json prof.json

How it measures (one process, glassnet only):

* the step is first run plain (``--steps`` times, min and median kept) to know its real cost;
* then with instruments: every NumPy call a kernel makes through the ``np``/``xp`` module is
  timed and put in a bucket: **GEMM** (``matmul``, ``dot``, ``tensordot``, ``einsum`` and
  ``vdot``/``inner``; the ops call ``xp.matmul``, never the ``@`` operator, so none escapes),
  **copies** (``copyto``, ``ascontiguousarray``, ``concatenate``, ``stack``, ``take``,
  ``pad``, ``repeat``, ``tile``) and **ufunc calls** (``np.exp``, ``np.multiply``, … called by
  name, ``out=`` included). **Other** is the rest of an op's time: operators on arrays
  (``a * b``, ``a += b``), methods (``.sum()``, ``.copy()``, ``.astype()``), allocation and
  the op's own Python;
* each graph op's forward is the time from the previous op's output (``tensor.make``) to its
  own, so it includes the module's ``forward`` Python that led to it; each op's backward
  closure is timed on its own; what ``backward()`` spends outside the closures is the
  autograd engine (topological sort, gradient sums); the optimizer's ``step`` and
  ``zero_grad`` are their own rows.

The instruments cost a few µs per NumPy call: the table's total is printed next to the plain
step time so the overhead is visible, and the shares, not the absolute sums, are the result.
GEMM calls are also recorded with their operand shapes and layouts (``products``), which
``gemm_limit.py`` times at the best rate of NumPy and PyTorch.
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
GEMM = ("matmul", "dot", "tensordot", "einsum", "vdot", "inner")
COPY = ("copyto", "ascontiguousarray", "concatenate", "stack", "take", "pad", "repeat",
        "tile")
KINDS = ("gemm", "copy", "ufunc")


def layout(a) -> str:
    """'N' (last two axes C-contiguous), 'T' (a transposed view of such), 'S' (strided)."""
    if a.ndim < 2:
        return "N"
    s0, s1 = a.strides[-2:]
    item = a.itemsize
    if s1 == item and s0 == a.shape[-1] * item or a.shape[-1] == 1 or a.shape[-2] == 1:
        return "N"
    if s0 == item and s1 == a.shape[-2] * item:
        return "T"
    return "S"


class Profiler:
    """Patches NumPy, ``tensor.make``, ``Tensor.backward`` and the optimizers (see module doc)."""

    def __init__(self):
        self.stats = {}                 # (op, phase) -> {"calls", "total", gemm, copy, ufunc}
        self.pending = dict.fromkeys(KINDS, 0.0)
        self.ctx = None                 # bucket key while inside a timed region
        self.depth = 0                  # nested NumPy calls count once (tensordot → dot)
        self.mark = 0.0
        self.products = []              # (op, phase, shape_a, layout_a, shape_b, layout_b)
        self.record = False
        self._undo = []

    def _row(self, key):
        row = self.stats.get(key)
        if row is None:
            row = self.stats[key] = {"calls": 0, "total": 0.0, **dict.fromkeys(KINDS, 0.0)}
        return row

    def _bucket(self):
        return self._row(self.ctx) if self.ctx is not None else self.pending

    # -- patching ----------------------------------------------------------------------------
    def _set(self, owner, name, value):
        self._undo.append((owner, name, getattr(owner, name)))
        setattr(owner, name, value)

    def _timed(self, fn, kind, name):
        prof = self

        def call(*a, **k):
            if prof.depth:
                return fn(*a, **k)
            prof.depth = 1
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                prof._bucket()[kind] += time.perf_counter() - t0
                prof.depth = 0
                if kind == "gemm" and prof.record and name == "matmul" and len(a) >= 2:
                    prof._note(a[0], a[1])
        return call

    def _note(self, a, b):
        import numpy as np

        from glassnet.blas import Packed
        if isinstance(b, Packed):                   # MKL's packed copy: recorded as b itself
            b = b.array
        a, b = np.asarray(a), np.asarray(b)
        op, phase = self.ctx if self.ctx is not None else ("(next op)", "fwd")
        self.products.append((op, phase, list(a.shape), layout(a), list(b.shape), layout(b)))

    def install(self, gn):
        import numpy as np
        prof = self
        for name in GEMM:
            self._set(np, name, self._timed(getattr(np, name), "gemm", name))
        from glassnet import blas as _blas        # the ops' products (MKL when installed)
        timed = self._timed(_blas.matmul, "gemm", "matmul")
        real_repeated, real_plan = _blas.repeated, _blas.product_plan

        def repeated(b, M, packed=True):        # a recurrent layer's per-step product
            f = real_repeated(b, M, packed)
            run = self._timed(lambda a, b_, out: f(a, out), "gemm", "matmul")
            return lambda a, out: run(a, b, out)   # timed and recorded as a @ b
        for mod in [m for k, m in sys.modules.items() if k.startswith("glassnet.")]:
            if getattr(mod, "gemm", None) is _blas.matmul:
                self._set(mod, "gemm", timed)
            if getattr(mod, "repeated", None) is real_repeated:
                self._set(mod, "repeated", repeated)
            if getattr(mod, "product_plan", None) is real_plan:
                # the recurrent layers' compiled time loops call MKL from C, where no patch
                # sees their products: instrumented, the layers run their Python step loops
                self._set(mod, "product_plan", lambda *a: None)
        # so do the batch's convolution in blocks (ops/conv.py) and the batch-1 inference
        # chain: without MKL's address for C they take their Python paths, products seen
        self._set(_blas, "gemm_address", lambda *a, **k: None)
        for name in COPY:
            self._set(np, name, self._timed(getattr(np, name), "copy", name))
        for name in dir(np):
            u = getattr(np, name)
            if isinstance(u, np.ufunc) and name not in GEMM:
                self._set(np, name, _UfuncProxy(u, self._timed(u, "ufunc", name)))
        tensor_mod = sys.modules["glassnet.tensor"]
        real_make = tensor_mod.make

        def make(data, parents, backward, op=None):
            now = time.perf_counter()
            name = op or getattr(backward, "__qualname__", "op").split(".")[0]
            row = prof._row((name, "fwd"))
            row["calls"] += 1
            row["total"] += now - prof.mark
            for k in KINDS:
                row[k] += prof.pending[k]
                prof.pending[k] = 0.0
            if prof.record:             # products made before this make() belong to it
                prof.products = [(name, *p[1:]) if p[0] == "(next op)" else p
                                 for p in prof.products]
            out = real_make(data, parents, prof._wrap_backward(backward, name), name)
            prof.mark = time.perf_counter()
            return out
        for mod in list(sys.modules.values()):
            if getattr(mod, "__name__", "").startswith("glassnet") and \
                    getattr(mod, "make", None) is real_make:
                self._set(mod, "make", make)
        self._phase(gn.Tensor, "backward", ("(autograd engine)", "bwd"))
        from glassnet.optim.optimizer import Optimizer
        classes = {Optimizer} | {c for c in vars(gn.optim).values()
                                 if isinstance(c, type) and issubclass(c, Optimizer)}
        for c in classes:
            for meth in ("step", "zero_grad"):
                if meth in vars(c):
                    self._phase(c, meth, ("(optimizer)", meth))

    def _phase(self, cls, meth, key):
        prof, fn = self, getattr(cls, meth)

        def run(*a, **k):
            if prof.ctx is not None:    # nested (a subclass calling its base): one row
                return fn(*a, **k)
            prof.ctx = key
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                row = prof._row(key)
                row["calls"] += 1
                row["total"] += time.perf_counter() - t0
                prof.ctx = None
                prof.mark = time.perf_counter()
        self._set(cls, meth, run)

    def _wrap_backward(self, fn, name):
        if fn is None:
            return None
        prof, key = self, (name, "bwd")

        def backward(g):
            prev, prof.ctx = prof.ctx, key
            t0 = time.perf_counter()
            try:
                return fn(g)
            finally:
                dt = time.perf_counter() - t0
                row = prof._row(key)
                row["calls"] += 1
                row["total"] += dt
                if prev is not None:    # the engine's own time excludes the closures
                    prof._row(prev)["total"] -= dt
                prof.ctx = prev
        backward.__qualname__ = getattr(fn, "__qualname__", name)
        backward.__dict__.update(getattr(fn, "__dict__", {}))   # e.g. embedding's .source,
        return backward                                         # read by the recurrent layers

    def uninstall(self):
        for owner, name, value in reversed(self._undo):
            setattr(owner, name, value)
        self._undo.clear()

    def run(self, step, steps: int):
        t_all = 0.0
        for _ in range(steps):
            self.mark = t0 = time.perf_counter()
            step()
            t_all += time.perf_counter() - t0
        return t_all


class _UfuncProxy:
    """A ufunc whose calls are timed; ``.reduce``, ``.at``, … and attributes pass through."""

    def __init__(self, ufunc, timed):
        self._u, self._call = ufunc, timed

    def __call__(self, *a, **k):
        return self._call(*a, **k)

    def __getattr__(self, name):
        return getattr(self._u, name)


def load_step(name: str):
    sys.path.insert(0, str(HERE))
    import importlib

    from workloads import module_name
    return importlib.import_module(f"workloads.{module_name(name)}").make("glassnet")


def profile(name: str, steps: int = 20, warmup: int = 3) -> dict:
    """Plain timing, then an instrumented run; returns the record (ms per step)."""
    step = load_step(name)
    import glassnet as gn
    for _ in range(warmup):
        step()
    plain = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        plain.append(time.perf_counter() - t0)
    prof = Profiler()
    prof.install(gn)
    try:
        prof.run(step, 2)               # warm the wrappers
        prof.stats.clear()
        prof.record = True
        prof.run(step, 1)               # one step's GEMM list
        prof.record = False
        per_step = prof.products[:]
        prof.stats.clear()
        total = prof.run(step, steps)
    finally:
        prof.uninstall()
    ms = 1e3 / steps
    rows = []
    for (op, phase), r in prof.stats.items():
        other = r["total"] - r["gemm"] - r["copy"] - r["ufunc"]
        rows.append({"op": op, "phase": phase, "calls": r["calls"] / steps,
                     "ms": r["total"] * ms, "gemm_ms": r["gemm"] * ms,
                     "copy_ms": r["copy"] * ms, "ufunc_ms": r["ufunc"] * ms,
                     "other_ms": other * ms})
    rows.sort(key=lambda r: -r["ms"])
    sums = {k: sum(r[k] for r in rows) for k in ("ms", "gemm_ms", "copy_ms", "ufunc_ms",
                                                  "other_ms")}
    python = sum(r["ms"] for r in rows if r["op"].startswith("(")) - sum(
        r["gemm_ms"] + r["copy_ms"] + r["ufunc_ms"] for r in rows if r["op"].startswith("("))
    from glassnet import blas as _blas
    from glassnet.ops import _fast
    return {"workload": name, "threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "glassnet_fast": _fast.status(), "glassnet_gemm": _blas.status(),
            "peak_rss_mb": peak_rss_mb(), "steps": steps,
            "plain_ms_min": min(plain) * 1e3,
            "plain_ms_median": statistics.median(plain) * 1e3,
            "instrumented_ms": total * ms, "totals": sums,
            "engine_and_optimizer_other_ms": python, "rows": rows, "products": per_step}


def peak_rss_mb():
    """This process's peak resident memory (VmHWM, Linux), or None."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def path_line(fast: dict) -> str:
    """Which path ran: the compiled kernels of ops/_fast.py (and for which ops) or NumPy."""
    if not fast["enabled"]:
        return f"NumPy path only ({fast.get('why') or 'GLASSNET_FAST=0'})"
    ran = ", ".join(fast["ops"]) or "none"
    return (f"{fast['compiled']} kernels on, ran for: {ran} (their time shows under "
            f"'other')")


def gemm_line(gemm: dict | None) -> str:
    """Which BLAS ran the ops' products: MKL (glassnet/blas.py) or NumPy's own."""
    if gemm and gemm["ran"]:
        return f"products >= 2^21 multiply-adds on MKL {gemm['mkl']}"
    why = ("mkl not installed" if not gemm or gemm["mkl"] is None else
           "GLASSNET_BLAS=numpy" if not gemm["enabled"] else "no product large enough")
    return f"products on NumPy's BLAS ({why})"


def print_table(rec: dict) -> None:
    rss = rec.get("peak_rss_mb")
    print(f"{rec['workload']}: plain step {rec['plain_ms_median']:.2f} ms (min "
          f"{rec['plain_ms_min']:.2f}), instrumented {rec['instrumented_ms']:.2f} ms; "
          f"OPENBLAS_NUM_THREADS={rec['threads']}; peak RSS "
          f"{'?' if rss is None else f'{rss:.0f}'} MB; {path_line(rec['glassnet_fast'])}; "
          f"{gemm_line(rec.get('glassnet_gemm'))}")
    print(f"{'op':<28}{'phase':>6}{'calls':>7}{'ms':>8}{'GEMM':>8}{'copies':>8}"
          f"{'ufuncs':>8}{'other':>8}")
    for r in rec["rows"]:
        print(f"{r['op'][:27]:<28}{r['phase']:>6}{r['calls']:>7.0f}{r['ms']:>8.2f}"
              f"{r['gemm_ms']:>8.2f}{r['copy_ms']:>8.2f}{r['ufunc_ms']:>8.2f}"
              f"{r['other_ms']:>8.2f}")
    t = rec["totals"]
    print(f"{'total':<28}{'':>6}{'':>7}{t['ms']:>8.2f}{t['gemm_ms']:>8.2f}{t['copy_ms']:>8.2f}"
          f"{t['ufunc_ms']:>8.2f}{t['other_ms']:>8.2f}")
    share = {k: 100 * t[k + "_ms"] / t["ms"] for k in ("gemm", "copy", "ufunc", "other")}
    print(f"shares: GEMM {share['gemm']:.0f}%, copies {share['copy']:.0f}%, ufunc calls "
          f"{share['ufunc']:.0f}%, other (operators, methods, Python) {share['other']:.0f}%; "
          f"engine + optimizer outside NumPy calls: {rec['engine_and_optimizer_other_ms']:.2f} ms;"
          f" {len(rec['products'])} GEMM calls per step")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", help="mlp, cnn, rnn, lstm, gru, tiny, ...")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, default=None,
                    help="BLAS threads (sets OPENBLAS_NUM_THREADS; default: the environment's, "
                         "else 1)")
    ap.add_argument("--json", type=Path, help="also write the record here")
    args = ap.parse_args(argv)
    if "numpy" in sys.modules and args.threads is not None:
        raise SystemExit("profile_step: --threads must be set before NumPy is imported")
    if args.threads is not None:
        os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    rec = profile(args.workload, args.steps)
    print_table(rec)
    if args.json:
        args.json.write_text(json.dumps(rec, indent=1))
    return rec


if __name__ == "__main__":
    main()
