"""benchmarks/jobs.py: a two-step char-LSTM job in each framework, each in its own process.

Both start from the same weights on the same Tiny Shakespeare windows, so after two Adam
steps their training losses must agree (PyTorch is the oracle); no timing is asserted.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks"
DATA = Path(os.environ.get("GLASSNET_DATA", BENCH.parent / "../shared/data")).resolve()


@pytest.mark.skipif(not (DATA / "tinyshakespeare" / "input.txt").exists(),
                    reason=f"Tiny Shakespeare not found under {DATA} (set GLASSNET_DATA)")
def test_charlstm_job_same_loss_in_both_frameworks(tmp_path):
    out = subprocess.run([sys.executable, str(BENCH / "jobs.py"), "--jobs", "charlstm",
                          "--steps", "2", "--threads", "1", "--json", str(tmp_path / "j.json")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    row = json.loads((tmp_path / "j.json").read_text())["results"][0]
    assert row["job"] == "charlstm" and row["steps"] == 2
    gl, pt = row["glassnet_last_loss"][0], row["torch_last_loss"][0]
    assert abs(gl - pt) < 1e-4 * abs(pt), (gl, pt)
    assert row["glassnet_seconds"][0] > 0 and row["torch_seconds"][0] > 0
    assert "enabled" in row["glassnet_fast"]
