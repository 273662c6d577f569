"""Rich notebook displays: ``_repr_html_`` for Tensor, Module and the training History.

Jupyter shows an object through its ``_repr_html_`` method. The displays need this
package (SVG curves, :func:`~glassnet.viz.diagram`), and ``glassnet.tensor``,
``glassnet.nn`` and ``glassnet.train`` must not import ``glassnet.viz`` (imports point
down only), so :func:`install` attaches the methods from here when ``glassnet.viz`` is
imported — which ``import glassnet`` always does. It is the same move ``glassnet._bind``
makes for Tensor's operators. (``Trace`` defines its own ``_repr_html_`` in
:mod:`glassnet.inspect`.)

* :func:`tensor_html`: shape, dtype, device, requires_grad, grad_fn, whether .grad is set,
  min/mean/max and a preview of the values.
* :func:`module_html`: the layer table (name, layer, parameter shapes, count), the total,
  and the network diagram when one can be drawn.
* :func:`history_html`: the last value of each key and inline SVG curves per quantity.
"""
from __future__ import annotations

import html

import numpy as np

from ..backend import to_host
from .svg import line_chart

__all__ = ["install", "tensor_html", "module_html", "history_html"]

_STYLE = ("<style>.glassnet-html table{border-collapse:collapse;font-size:12px}"
          ".glassnet-html td,.glassnet-html th{padding:2px 8px;border-bottom:1px solid #ddd;"
          "text-align:left}.glassnet-html pre{font-size:12px;margin:4px 0}</style>")


def _table(rows, head=None) -> str:
    e = html.escape
    out = ["<table>"]
    if head:
        out.append("<tr>" + "".join(f"<th>{e(str(h))}</th>" for h in head) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>")
    return "".join(out + ["</table>"])


def tensor_html(t, *, threshold: int = 60, edgeitems: int = 3) -> str:
    """HTML for a Tensor: a table of its attributes and a preview of its values (at most
    ``threshold`` numbers shown in full, else ``edgeitems`` at each end of each axis)."""
    a = to_host(t.array)
    rows = [("shape", tuple(a.shape)), ("dtype", a.dtype), ("device", t.device),
            ("requires_grad", t.requires_grad),
            ("grad_fn", t._op if getattr(t, "_op", None) else "None (a leaf)"),
            ("grad", "set" if t.grad is not None else "None")]
    if a.size and a.dtype.kind in "fiub":
        f = a.astype(np.float64)
        rows += [("min / mean / max", f"{f.min():.4g} / {f.mean():.4g} / {f.max():.4g}")]
    preview = np.array2string(a, precision=4, threshold=threshold, edgeitems=edgeitems,
                              separator=", ", suppress_small=True)
    kind = type(t).__name__
    return (f'<div class="glassnet-html">{_STYLE}<b>{html.escape(kind)}</b>'
            f"{_table(rows)}<pre>{html.escape(preview)}</pre></div>")


def layer_rows(model, layers) -> list:
    """``[(name, label, parameter shapes, count)]`` for the given ``(name, module)``s."""
    from ..inspect import describe, layer_role
    rows = []
    for name, m in layers:
        own = {k: p for k, p in m._parameters.items() if p is not None}
        shapes = ", ".join(f"{k} {tuple(p.shape)}" for k, p in own.items())
        label = describe(m) if layer_role(m) != "other" else type(m).__name__
        rows.append((name or "(model)", label, shapes,
                     f"{sum(int(p.array.size) for p in own.values()):,}"))
    return rows


def module_html(model, *, diagram_kw=None) -> str:
    """HTML for a Module: one row per layer (leaf modules and any module owning
    parameters), the parameter total, and :func:`~glassnet.viz.diagram` of the model."""
    from ..inspect import recorded_modules
    from .diagram import diagram
    rows = layer_rows(model, recorded_modules(model))
    total = sum(int(p.array.size) for p in model.parameters())
    trainable = sum(int(p.array.size) for p in model.parameters() if p.requires_grad)
    parts = [f'<div class="glassnet-html">{_STYLE}<b>{html.escape(type(model).__name__)}</b> '
             f"· {total:,} parameters ({trainable:,} trainable) · "
             f"{'training' if model.training else 'eval'} mode",
             _table(rows, ("layer", "type", "parameters", "#")),
             f"<p>Total params: {total:,}</p>"]
    try:
        parts.append(f"<div>{diagram(model, **(diagram_kw or {}))}</div>")
    except (ValueError, TypeError, AttributeError) as e:
        parts.append(f"<p><i>no diagram: {html.escape(str(e))}</i></p>")
    return "".join(parts) + "</div>"


def history_html(history) -> str:
    """HTML for a History (or a dict of lists): the last value of each key and one SVG
    chart per quantity, training and validation together."""
    from .curves import history_dict
    h = history_dict(history)
    n = max((len(v) for v in h.values()), default=0)
    rows = [(k, len(v), f"{v[-1]:.6g}" if v else "", f"{min(v):.6g}" if v else "")
            for k, v in h.items()]
    bases = list(dict.fromkeys(k[4:] if k.startswith("val_") else k for k in h))
    charts = "".join(line_chart({k: h[k] for k in (b, f"val_{b}") if k in h}, title=b)
                     for b in bases)
    return (f'<div class="glassnet-html">{_STYLE}<b>History</b> · {n} epochs'
            f"{_table(rows, ('key', 'epochs', 'last', 'min'))}<div>{charts}</div></div>")


def install() -> None:
    """Attach ``_repr_html_`` to Tensor, Module and History (idempotent)."""
    from ..nn import Module
    from ..tensor import Tensor
    from ..train import History
    Tensor._repr_html_ = tensor_html
    Module._repr_html_ = module_html
    History._repr_html_ = history_html
