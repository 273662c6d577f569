"""The benchmark harness keeps working: a seconds-long quick run of every workload.

No timing is asserted (speed lives in benchmarks/, not in tests); this checks that each
workload builds in both frameworks from the same weights, runs, and that the harness
prints its table and a JSON record with ratios and peak memory.
"""
import importlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCH))

from workloads import NAMES  # noqa: E402


@pytest.mark.parametrize("name", NAMES)
def test_workload_runs_in_both_frameworks(name):
    """Each workload builds and runs a training step in glassnet and in PyTorch."""
    mod = importlib.import_module(f"workloads.{name}")
    for fw in ("glassnet", "torch"):
        step = mod.make(fw)
        step()                      # must run without error


def test_quick_harness_prints_table_and_json():
    out = subprocess.run([sys.executable, str(BENCH / "bench.py"), "--quick",
                          "--workloads", "mlp,rnn"], capture_output=True, text=True,
                         check=True, timeout=600)
    lines = out.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["workload", "glassnet"]
    record = json.loads(lines[-1])
    names = [r["workload"] for r in record["results"]]
    assert names == ["mlp", "rnn"]
    for r in record["results"]:
        assert r["ratio"] == pytest.approx(r["glassnet_ms"] / r["torch_ms"])
        assert r["glassnet_peak_rss_mb"] > 0 and r["torch_peak_rss_mb"] > 0
    assert np.isfinite([r["ratio"] for r in record["results"]]).all()
