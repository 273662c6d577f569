"""benchmarks/profile_step.py and gemm_limit.py: the GEMM list they record is the step's.

No timing is asserted. The mlp step's matrix products are derived here by hand from the
model (784-512-256-10, batch 128; the input needs no gradient) and must match what the
profiler records; the instruments must leave NumPy and the engine as they found them.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

import gemm_limit  # noqa: E402
import profile_step  # noqa: E402
from glassnet.ops import _fast  # noqa: E402


def _expected_mlp_products():
    N, sizes = 128, (784, 512, 256, 10)
    out = []
    for fin, fout in zip(sizes[:-1], sizes[1:]):
        out.append(((N, fin), "N", (fin, fout), "T"))       # y = x·Wᵀ
        out.append(((fout, N), "T", (N, fin), "N"))         # dW = gᵀ·x
        if fin != 784:
            out.append(((N, fout), "N", (fout, fin), "N"))  # dx = g·W
    return sorted(out)


def test_profiler_records_the_mlp_products_and_restores_numpy():
    matmul, exp, tensor_make = np.matmul, np.exp, sys.modules["glassnet.tensor"].make
    rec = profile_step.profile("mlp", steps=2, warmup=1)
    got = sorted((tuple(a), la, tuple(b), lb) for _, _, a, la, b, lb in rec["products"])
    assert got == _expected_mlp_products()
    phases = {(op, ph) for op, ph, *_ in rec["products"]}
    # with the compiled kernels, Sequential runs each Linear → ReLU as one node
    fused = "LinearReluBackward" if _fast.kernels() is not None else None
    assert phases == {(op, ph) for op in ("AddmmBackward", fused) if op
                      for ph in ("fwd", "bwd")}
    ops = {r["op"] for r in rec["rows"]}
    assert {"AddmmBackward", fused or "ReluBackward", "(optimizer)",
            "(autograd engine)"} <= ops
    assert all(r["gemm_ms"] <= r["ms"] + 1e-9 for r in rec["rows"] if r["op"] == "AddmmBackward")
    assert np.matmul is matmul and np.exp is exp
    assert sys.modules["glassnet.ops.matmul"].make is tensor_make


@pytest.mark.parametrize("lay", ["N", "T", "S"])
def test_operands_have_the_recorded_layout(lay):
    a = gemm_limit.operand(np, [5, 7], lay, np.random.default_rng(0))
    assert a.shape == (5, 7) and a.dtype == np.float32
    assert profile_step.layout(a) == lay


def test_flops_counts_batched_products():
    assert gemm_limit.flops([4, 8], [8, 3]) == 2 * 4 * 8 * 3
    assert gemm_limit.flops([2048, 64], [4, 64, 256]) == 4 * 2 * 2048 * 64 * 256


def test_gemm_limit_runs_on_mlp(tmp_path):
    out = subprocess.run([sys.executable, str(BENCH / "gemm_limit.py"), "mlp", "--reps", "1",
                          "--threads", "1", "--json", str(tmp_path / "l.json")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    import json
    rec = json.loads((tmp_path / "l.json").read_text())
    assert rec["gemm_calls"] == 8 and rec["limit_ms"] > 0
    assert rec["limit_ms"] <= min(rec["numpy_only_ms"], rec["torch_only_ms"]) + 1e-9
    assert abs(rec["gflop_per_step"] - sum(
        gemm_limit.flops(a, b) for a, _, b, _ in _expected_mlp_products()) / 1e9) < 1e-12


def test_profiler_keeps_the_embedding_fast_path():
    """The wrapped backward closures keep their attributes: the LSTM still sees that its input
    is an embedding lookup and projects the V = 65 table rows, not the L·N = 2048 rows."""
    rows = {tuple(a) for _, _, a, _, _, _ in gemm_limit.record_products("lstm")}
    assert (65, 64) in rows and (2048, 64) not in rows


def test_the_recurrent_steps_products_are_recorded():
    """The recurrent layers' compiled time loops call MKL from C; instrumented, the layers run
    their Python step loops, so every step's product is recorded (64 steps: h·W_hhᵀ forward,
    dA·W_hh backward, less the first step's when h0 = 0 and wants no gradient)."""
    products = gemm_limit.record_products("rnn")
    per_step = [p for p in products if tuple(p[2]) == (32, 256) and tuple(p[4]) == (256, 256)]
    assert len(per_step) >= 2 * 63



def test_profile_says_which_path_ran():
    """The record names the path (compiled kernels and the ops that ran them, or NumPy) and
    the process's peak RSS; the header line says it in words."""
    from glassnet.ops import _fast
    rec = profile_step.profile("mlp", steps=1, warmup=1)
    assert rec["glassnet_fast"] == _fast.status()
    assert rec["peak_rss_mb"] is None or rec["peak_rss_mb"] > 10
    off = {"compiled": None, "enabled": False, "ops": [], "why": "cffi not installed"}
    assert profile_step.path_line(off) == "NumPy path only (cffi not installed)"
    assert "GLASSNET_FAST=0" in profile_step.path_line(dict(off, compiled="C", why=None))
    on = profile_step.path_line({"compiled": "C (cffi 1.17.1)", "enabled": True,
                                 "ops": ["max_pool2d", "relu"]})
    assert on.startswith("C (cffi 1.17.1) kernels on, ran for: max_pool2d, relu")


def test_gemm_crossover_times_every_cell_and_reports_json(tmp_path):
    """benchmarks/gemm_crossover.py (blas's thresholds): every (weight, rows) cell is timed
    for both libraries and the record says which threads and layout ran."""
    from glassnet import blas
    if not blas.status()["enabled"]:
        pytest.skip("the optional mkl package is not installed (pip install 'glassnet[mkl]')")
    out = tmp_path / "cross.json"
    r = subprocess.run([sys.executable, str(BENCH / "gemm_crossover.py"), "--threads", "1",
                        "--layout", "N", "--calls", "2", "--reps", "1", "--json", str(out)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    import json
    rec = json.loads(out.read_text())
    assert (rec["threads"], rec["layout"]) == (1, "N")
    import gemm_crossover
    cells = {(c["K"], c["N"], c["M"]) for c in rec["results"]}
    assert cells == {(K, N, M) for K, N in gemm_crossover.WEIGHTS for M in gemm_crossover.ROWS}
    assert all(c["macs"] == c["K"] * c["N"] * c["M"] and c["numpy_us"] > 0 and c["mkl_us"] > 0
               for c in rec["results"])
    assert "NumPy time / MKL time" in r.stdout
