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

from workloads import NAMES, module_name  # noqa: E402


@pytest.mark.parametrize("name", NAMES)
def test_workload_runs_in_both_frameworks(name):
    """Each workload builds and runs a training step in glassnet and in PyTorch."""
    mod = importlib.import_module(f"workloads.{module_name(name)}")
    for fw in ("glassnet", "torch"):
        step = mod.make(fw)
        step()                      # must run without error


def test_quick_harness_prints_table_and_json():
    """Separate-process mode: each framework in its own process, with its own peak RSS."""
    out = subprocess.run([sys.executable, str(BENCH / "bench.py"), "--quick",
                          "--workloads", "mlp,tiny,generate"], capture_output=True, text=True,
                         check=True, timeout=600)
    lines = out.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["workload", "unit", "glassnet"]
    record = json.loads(lines[-1])
    assert record["mode"] == "separate-processes" and record["cpu"]
    names = [r["workload"] for r in record["results"]]
    assert names == ["mlp", "tiny", "generate"]
    for r in record["results"]:
        assert r["ratio"] == pytest.approx(np.median(r["pair_ratios"]))
        assert r["glassnet_peak_rss_mb"] > 0 and r["torch_peak_rss_mb"] > 0
        assert r["glassnet_min"] <= r["glassnet_median"] <= r["glassnet_max"]
    tiny, gen = record["results"][1], record["results"][2]
    assert tiny["unit"] == "us/step" and tiny["glassnet_threads"] == 1
    # a rate: the ratio is time over time, i.e. PyTorch's rate over glassnet's
    assert gen["unit"] == "chars/s"
    assert gen["ratio"] == pytest.approx(gen["torch_median"] / gen["glassnet_median"], rel=0.5)
    assert np.isfinite([r["ratio"] for r in record["results"]]).all()


def test_in_process_mode_is_labelled():
    out = subprocess.run([sys.executable, str(BENCH / "bench.py"), "--quick", "--in-process",
                          "--workloads", "mlp"], capture_output=True, text=True,
                         check=True, timeout=600)
    record = json.loads(out.stdout.strip().splitlines()[-1])
    assert record["mode"] == "in-process"
    r = record["results"][0]
    assert r["mode"] == "in-process" and r["ratio"] > 0


def test_generation_workload_writes_the_same_text_in_both_frameworks():
    """Same weights, greedy decoding: the 200 characters must agree (correctness first)."""
    gen = importlib.import_module("workloads.generate")
    assert gen.text("glassnet") == gen.text("torch")
