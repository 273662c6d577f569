"""glassnet report: a self-contained report.html that a real headless browser renders."""
import base64
import json
import re
import shutil
import subprocess

import pytest

pytest.importorskip("matplotlib")

from glassnet.train.recipe import Recipe, train_recipe  # noqa: E402
from glassnet.viz import write_report  # noqa: E402

PROBE = """<script>
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(String(e.message)));
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;
  const p = document.createElement('p');
  p.id = 'probe';
  p.textContent = JSON.stringify({images: imgs.length, rendered: ok, errors: window.__errors});
  document.body.appendChild(p);
});
</script>"""


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("run")
    recipe = Recipe.from_dict({"model": "mlp-small", "dataset": "digits", "epochs": 2,
                               "scheduler": "step", "step_size": 1, "gamma": 0.5})
    train_recipe(recipe, path, verbose=False)
    return path


@pytest.fixture(scope="module")
def report(run_dir):
    return write_report(run_dir)


def test_report_is_self_contained(run_dir, report):
    out = report
    assert out == run_dir / "report.html"
    page = out.read_text(encoding="utf-8")
    for needle in ("Final metrics", "test accuracy", "Recipe", 'model = &quot;mlp-small&quot;',
                   "Total params", "Training curves", "confusion matrix", "z = W·x + b",
                   "δ = ∂L/∂z"):
        assert needle in page, needle
    srcs = re.findall(r'<img src="([^"]+)"', page)
    assert len(srcs) >= 4                     # curves, lr, confusion matrix, predictions
    for src in srcs:
        assert src.startswith("data:image/png;base64,")
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert not re.search(r'(src|href)="(?!data:)', page)      # nothing outside the file


def test_report_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such directory"):
        write_report(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="run.json nor metrics.jsonl"):
        write_report(tmp_path)
    (tmp_path / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "loss": 0.5}) + "\n")
    page = write_report(tmp_path).read_text(encoding="utf-8")      # an unfinished run
    assert "model not loaded" in page and "data:image/png;base64," in page


def _browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_browser() is None, reason="no chromium in PATH (apt-get install chromium)")
def test_report_renders_in_headless_chromium(report, tmp_path):
    page = report.read_text(encoding="utf-8")
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    cmd = [_browser(), "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-dev-shm-usage", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=5000", "--dump-dom", probed.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    m = re.search(r'<p id="probe">(.*?)</p>', res.stdout)
    assert m, f"the page did not load: {res.stderr[-2000:]}"
    probe = json.loads(m.group(1).replace("&quot;", '"'))
    assert probe["errors"] == []
    assert probe["images"] >= 4 and probe["rendered"] == probe["images"]
    console_errors = [ln for ln in res.stderr.splitlines() if "CONSOLE" in ln and "rror" in ln]
    assert console_errors == []


def test_report_for_a_cnn_shows_filters_maps_and_grad_norms(tmp_path, monkeypatch):
    import glassnet as gn
    import glassnet.train.recipe as recipe_mod
    nn = gn.nn
    gn.manual_seed(0)
    cnn = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(4 * 4 * 4, 10))
    meta = {"input_shape": [1, 8, 8], "num_classes": 10, "test": {"accuracy": 0.5},
            "history": {"loss": [2.0, 1.5], "val_loss": [2.1, 1.7]},
            "grad_norms": {"0.weight": [1.0, 0.5], "4.weight": [0.3, 0.2]},
            "grad_norm_steps": [10, 20]}
    (tmp_path / "run.json").write_text(json.dumps(meta))
    recipe = Recipe.from_dict({"model": "mlp-small", "dataset": "digits"})
    monkeypatch.setattr(recipe_mod, "load_run", lambda run_dir, data_dir=None:
                        (recipe, cnn, meta))
    page = write_report(tmp_path).read_text(encoding="utf-8")
    for needle in ("Convolution layers", "first-layer filters", "feature maps",
                   "gradient norm", "Conv2d", "z = W ⊛ x + b"):
        assert needle in page, needle
    # curves, gradient norms, filters, feature maps, confusion matrix, predictions
    assert len(re.findall(r'<img src="data:image/png;base64,', page)) == 6


def test_report_shows_the_diagram_and_per_sample_loss_numbers(run_dir, report):
    import xml.etree.ElementTree as ET

    import numpy as np
    page = report.read_text(encoding="utf-8")
    svg = re.search(r"<svg .*?</svg>", page, re.S).group(0)
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    # mlp-small on digits: 64 → 128 → 64 → 10, 10 neurons drawn per layer at most
    assert len(root.findall('.//s:circle[@class="neuron"]', ns)) == 10 * 4
    assert len(root.findall('.//s:line[@class="weight"]', ns)) == 10 * 10 * 3
    assert "Network diagram" in page and "<td>y</td>" not in page   # no mean/std of labels
    from glassnet.data import get_dataset
    from glassnet.train.recipe import load_run
    _, model, _ = load_run(run_dir)
    x, y = get_dataset("digits", split="test").arrays
    model.eval()
    import glassnet as gn
    with gn.no_grad():
        z = model(gn.tensor(x[:4])).numpy().astype(np.float64)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    shown = re.search(r"p\(true class\) = \[([^\]]*)\]", page).group(1)
    np.testing.assert_allclose([float(v) for v in shown.split(",")],
                               p[np.arange(4), y[:4]], atol=1e-4)
    assert f"y (true class) = [{', '.join(str(int(v)) for v in y[:4])}]" in page
