"""Run reports: one self-contained ``report.html`` for a run directory.

The report gathers what a run directory holds (see :mod:`glassnet.train.recipe`)::

    recipe.toml      → the recipe
    run.json         → final test metrics, timings, the per-epoch history and, if present,
                       ``grad_norms`` / ``grad_norm_steps`` (a GradientNormHistory's data)
    metrics.jsonl    → the history, when run.json is missing (an unfinished run)
    weights          → the model: its summary, the plots that fit it, a traced step

Images are PNGs embedded as base64 ``data:`` URLs, so the file can be mailed or opened
anywhere without its folder. Parts that cannot be produced (no matplotlib, dataset not
available, unfinished run) are replaced by a short note rather than failing the report.
"""
from __future__ import annotations

import base64
import datetime
import html
import json
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["write_report"]

_CSS = """body{font-family:system-ui,sans-serif;max-width:64rem;margin:2rem auto;padding:0 1rem;
color:#222}h1{margin-bottom:.2rem}h2{border-bottom:2px solid #ccd;margin-top:2.2rem}
table{border-collapse:collapse}td,th{padding:.2rem .7rem;border-bottom:1px solid #ddd;
text-align:left}pre{background:#f6f6fa;padding:.6rem;overflow-x:auto;font-size:.85rem}
img{max-width:100%;height:auto;display:block;margin:.6rem 0}.note{color:#777;font-style:italic}
figure{margin:1rem 0}figure.diagram{overflow-x:auto}figcaption{font-size:.9rem;color:#555}"""


def _read_history(run_dir: Path, meta: dict) -> dict:
    from .curves import history_dict
    if isinstance(meta.get("history"), dict):
        return history_dict(meta["history"])
    path = run_dir / "metrics.jsonl"
    if path.is_file():
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
                if line.strip()]
        return history_dict(rows)
    return {}


def _img(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _note(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def _table(rows) -> str:
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                   for k, v in rows)
    return f"<table>{body}</table>"


def _fmt(v) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def write_report(run_dir, out=None, *, data_dir=None, samples: int = 8) -> Path:
    """Write ``report.html`` for a run directory: recipe, model summary, curves, the plots
    that fit the model, a traced training step and the final metrics.

    Args:
        run_dir: a folder written by ``glassnet train`` / :func:`glassnet.train.train_recipe`.
        out: the HTML file to write (default ``RUN_DIR/report.html``).
        data_dir: dataset folder for the sample plots (default: the recipe's).
        samples: how many test samples to show with their predicted probabilities.

    Returns:
        The ``Path`` of the report.

    Raises:
        FileNotFoundError: ``run_dir`` does not exist or holds neither run.json nor
            metrics.jsonl.

    Example:
        >>> gn.viz.write_report("runs/digits")        # or: glassnet report runs/digits
        PosixPath('runs/digits/report.html')
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise FileNotFoundError(f"report: run directory {run_dir}: no such directory")
    meta_path = run_dir / "run.json"
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    if not isinstance(meta, dict):
        raise ValueError(f"{meta_path}: corrupt (expected a JSON object)")
    history = _read_history(run_dir, meta)
    if not meta and not history:
        raise FileNotFoundError(f"report: {run_dir} holds neither run.json nor metrics.jsonl "
                                f"(is it a run directory?)")
    out = Path(out) if out is not None else run_dir / "report.html"
    recipe_path = run_dir / "recipe.toml"
    recipe_text = recipe_path.read_text(encoding="utf-8") if recipe_path.is_file() else ""

    parts = [f"<h1>Run report: {html.escape(run_dir.resolve().name)}</h1>",
             _note(f"generated {datetime.datetime.now():%Y-%m-%d %H:%M} by glassnet")]
    parts.append("<h2>Final metrics</h2>")
    rows = [(f"test {k}", _fmt(v)) for k, v in (meta.get("test") or {}).items()]
    rows += [(f"baseline {name}: {k}", _fmt(v)) for name, vals in
             (meta.get("baselines") or {}).items() if isinstance(vals, dict)
             for k, v in vals.items()]
    rows += [(f"last epoch {k}", _fmt(v[-1])) for k, v in history.items() if v]
    for key in ("epochs_run", "train_seconds"):
        if key in meta:
            rows.append((key.replace("_", " "), _fmt(meta[key])))
    parts.append(_table(rows) if rows else _note("no metrics recorded"))
    parts.append("<h2>Recipe</h2>")
    parts.append(f"<pre>{html.escape(recipe_text)}</pre>" if recipe_text
                 else _note("no recipe.toml"))

    with tempfile.TemporaryDirectory() as tmp:
        parts += _model_sections(run_dir, meta, history, Path(tmp), data_dir, samples)

    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>glassnet report: {html.escape(run_dir.name)}</title>"
            f"<style>{_CSS}</style></head><body>\n" + "\n".join(parts) + "\n</body></html>\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return out


def _model_sections(run_dir, meta, history, tmp: Path, data_dir, samples) -> list:
    """Summary, curves, model-specific plots and a traced step (each part optional)."""
    parts = []
    model = recipe = None
    if meta.get("task"):                        # a task of glassnet.runs / glassnet.apps
        return _task_sections(run_dir, meta, history, tmp)
    try:
        from ..train.recipe import load_run
        recipe, model, meta = load_run(run_dir, data_dir)
    except Exception as e:                      # an unfinished or foreign run: still report
        reason = f"model not loaded ({type(e).__name__}: {e})"
    parts.append("<h2>Model</h2>")
    if model is not None:
        from ..train.summary import summary
        text = summary(model, meta["input_shape"], print_fn=None)
        parts.append(f"<pre>{html.escape(text)}</pre>")
    else:
        parts.append(_note(reason))

    skipped = _plots_skipped()
    if skipped:
        return parts + [skipped]
    from . import curves, features, predictions

    parts += _history_section(history, tmp, "loss and metrics per epoch (training and "
                                            "validation)")
    if len(history.get("lr", [])) > 1:
        parts.append(_img(curves.plot_lr(history["lr"], tmp / "lr.png"),
                          "learning rate per epoch"))
    norms = meta.get("grad_norms")                 # {name: [...]}, e.g. GradientNormHistory
    if isinstance(norms, dict) and norms:
        parts.append(_img(curves.plot_grad_norms(norms, tmp / "grad_norms.png",
                                                 steps=meta.get("grad_norm_steps")),
                          "gradient norm ‖∂L/∂W‖ per layer"))
    if model is None:
        return parts

    x = y = None
    try:
        from ..data import get_dataset
        root = data_dir if data_dir is not None else recipe.data_dir
        x, y = get_dataset(recipe.dataset, root=root, split="test").arrays
    except Exception as e:
        parts.append(_note(f"test data not available for sample plots ({e})"))

    parts += _diagram_section(model, x)
    if features.conv_layers(model):
        parts.append("<h2>Convolution layers</h2>")
        parts.append(_img(features.plot_filters(model, tmp / "filters.png"),
                          "first-layer filters"))
        if x is not None:
            parts.append(_img(features.plot_feature_maps(model, x[:1], tmp / "maps.png"),
                              "test sample 0 and the feature maps of every convolution "
                              "layer (all channels)"))
    if x is not None:
        parts += _prediction_sections(model, x, y, tmp, samples, predictions)
    return parts


def _plots_skipped() -> str | None:
    """None when matplotlib can draw, else the note saying why the plots are skipped."""
    try:
        from ._mpl import pyplot
        pyplot()
    except ImportError as e:
        return _note(f"plots skipped: {e}")
    return None


def _history_section(history: dict, tmp: Path, caption: str) -> list:
    """The training curves of ``history`` (every key but lr), or a note that there are none."""
    from . import curves
    if history and any(k != "lr" for k in history):
        return ["<h2>Training curves</h2>",
                _img(curves.plot_history(history, tmp / "history.png"), caption)]
    return ["<h2>Training curves</h2>", _note("no per-epoch history")]


def _weights_table(path: Path) -> str:
    """The parameters stored in a run's weights file: name, shape, count."""
    from ..io.weights import tensors_from_bytes
    tensors, _ = tensors_from_bytes(path.read_bytes(), path)
    rows = [(name, f"{tuple(a.shape)}  {a.size:,}") for name, a in tensors.items()]
    rows.append(("total parameters", f"{sum(a.size for a in tensors.values()):,}"))
    return _table(rows)


def _task_sections(run_dir: Path, meta: dict, history: dict, tmp: Path) -> list:
    """Model, curves and the run's own pictures for a task run (music, video, segmentation,
    ...): the model is described by its stored weights; the task's test figures (samples,
    predictions) are the PNGs the run wrote."""
    parts = ["<h2>Model</h2>"]
    weights = run_dir / "weights.safetensors"
    try:
        parts.append(_weights_table(weights) if weights.is_file()
                     else _note(f"{meta['task']} run: no weights.safetensors"))
    except Exception as e:
        parts.append(_note(f"weights not readable ({type(e).__name__}: {e})"))
    skipped = _plots_skipped()
    if skipped:
        return parts + [skipped]
    parts += _history_section(history, tmp, "per epoch: training (solid) and validation "
                                            "(dashed)")
    pictures = sorted(run_dir.glob("*.png"))
    if pictures:
        parts.append("<h2>Test figures</h2>")
        parts += [_img(p, f"{p.name} (written by the {meta['task']} run)") for p in pictures]
    return parts


def _diagram_section(model, x) -> list:
    """The network diagram (:func:`glassnet.viz.diagram`), for test sample 0 when the data
    is there."""
    from .diagram import diagram
    try:
        svg = diagram(model, x[:1] if x is not None else None)
    except ValueError as e:
        return [_note(f"no diagram: {e}")]
    what = "neurons coloured by their activation for test sample 0" if x is not None else \
        "weights"
    return ["<h2>Network diagram</h2>", f'<figure class="diagram">{svg}<figcaption>'
            f"{html.escape(what)}; edges: weights (blue +, orange −, width ∝ |w|); large "
            "layers show their first and last neurons around a ⋮ (hover for the numbers)"
            "</figcaption></figure>"]


def _prediction_sections(model, x, y, tmp, samples, predictions) -> list:
    from ..inspect import trace
    from ..nn import CrossEntropyLoss
    from ..tensor import Tensor, no_grad
    parts = ["<h2>Predictions on the test set</h2>"]
    model.eval()
    with no_grad():
        logits = np.concatenate([model(Tensor(x[i:i + 512])).array
                                 for i in range(0, len(x), 512)])
    z = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    pred = probs.argmax(axis=1)
    parts.append(_img(predictions.plot_confusion_matrix(y, pred, tmp / "cm.png"),
                      f"confusion matrix on {len(y)} test samples"))
    if x.ndim >= 3 or int(round(np.sqrt(x.shape[-1]))) ** 2 == x.shape[-1]:
        parts.append(_img(predictions.plot_predictions(x[:samples], probs[:samples],
                                                       tmp / "pred.png", labels=y[:samples]),
                          "sample test inputs with the top-3 predicted probabilities "
                          "(red: wrong)"))
    parts.append("<h2>One training step, traced</h2>")
    parts.append(_note("forward, loss and backpropagation on 4 test samples with the final "
                       "weights (no update is applied); the loss section lists each "
                       "sample's true class, predicted class and p(true class)"))
    model.train()
    t = trace(model, x[:4], y[:4], CrossEntropyLoss(), None)
    model.eval()
    parts.append(t.to_html(standalone=False))
    return parts
