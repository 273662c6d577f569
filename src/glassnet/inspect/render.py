"""Render a :class:`~glassnet.inspect.Trace` as text, Markdown or HTML."""
from __future__ import annotations

import html

import numpy as np

__all__ = ["to_text", "to_markdown", "to_html", "format_array", "summary_line"]

PHASES = (("forward", "Forward propagation"), ("loss", "Loss"),
          ("backward", "Backpropagation"), ("update", "Update"))
_COLS = ("mean", "std", "min", "max", "norm")


def format_array(a, precision: int = 4) -> str:
    """An array as text with ``precision`` digits, as a student would write it down."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        a = a + 0.0                                   # show −0.0 as 0
    return np.array2string(a, precision=precision, suppress_small=True,
                           separator=", ", max_line_width=88)


def _num(v: float) -> str:
    return f"{v + 0.0:.4g}"                           # + 0.0 shows −0.0 as 0


def _stat_line(stats: dict) -> str:
    if "value" in stats:
        return f"= {_num(stats['value'])}"
    return "  ".join(f"{k} {_num(stats[k])}" for k in _COLS if k in stats)


def _title(r) -> str:
    where = f"[{r.layer}] " if r.layer not in ("", "loss") else ""
    return f"{where}{r.label}".strip()


def _summary(trace) -> str:
    first = next(iter(trace.phase("forward")), None)
    batch = ""
    if first is not None and first.shapes:
        k, shape = next(iter(first.shapes.items()))
        batch = f" · input {k} {shape}"
    upd = trace.phase("update")
    opt = f" · {upd[0].label}" if upd else " · no update"
    return f"One training step{batch} · loss {trace.loss:.6g}{opt}"


def summary_line(trace) -> str:
    """The heading line of a trace: input shape, loss and the update."""
    return _summary(trace)


def _phases(phases):
    if phases is None:
        return PHASES
    known = dict(PHASES)
    bad = [p for p in phases if p not in known]
    if bad:
        raise ValueError(f"phases={list(phases)!r}: unknown {bad}; expected some of "
                         f"{list(known)}")
    return [(p, known[p]) for p, _ in PHASES if p in phases]


def to_text(trace, phases=None) -> str:
    """The trace as plain text (what ``print(trace)`` shows); ``phases`` selects sections."""
    lines = [_summary(trace)]
    for phase, heading in _phases(phases):
        recs = trace.phase(phase)
        if not recs:
            continue
        lines += ["", f"── {heading} " + "─" * max(4, 60 - len(heading))]
        for r in recs:
            lines.append(_title(r))
            lines += ["    " + n for n in r.notation.split("\n")]
            lines += _text_body(r)
    return "\n".join(lines) + "\n"


def _text_body(r) -> list:
    """The tensors of one record: the numbers when kept, else one line of statistics.
    (The update's change and the loss value are already in the notation lines.)"""
    lines, shown = [], set()
    for name, st in r.stats.items():
        if r.phase == "update" or name == r.label:
            continue
        shape = r.shapes.get(name)
        if name in r.values:
            head = f"      {name} {shape} = "
            lines.append(head + format_array(r.values[name]).replace("\n", "\n" + " " * len(head)))
            shown.add(name)
        else:
            lines.append(f"      {name:<10} {str(shape or ''):<14} {_stat_line(st)}")
    for name, v in r.values.items():
        if name not in shown:
            head = f"      {name} = "
            lines.append(head + format_array(v).replace("\n", "\n" + " " * len(head)))
    return lines


def to_markdown(trace, phases=None) -> str:
    """The trace as Markdown: a section per phase, a table per layer, values in code blocks."""
    out = [f"**{_summary(trace)}**", ""]
    for phase, heading in _phases(phases):
        recs = trace.phase(phase)
        if not recs:
            continue
        out += [f"## {heading}", ""]
        for r in recs:
            out += [f"### {_title(r)}", ""]
            out += [f"`{n}`  " for n in r.notation.split("\n")] + [""]
            if r.stats:
                out += ["| tensor | shape | " + " | ".join(_COLS) + " |",
                        "|---|---|" + "---|" * len(_COLS)]
                for name, st in r.stats.items():
                    shape = r.shapes.get(name, "")
                    cells = ([_num(st["value"])] + [""] * (len(_COLS) - 1) if "value" in st
                             else [_num(st[k]) if k in st else "" for k in _COLS])
                    out.append(f"| {name} | {shape} | " + " | ".join(cells) + " |")
                out.append("")
            if r.values:
                out.append("```text")
                for name, v in r.values.items():
                    head = f"{name} = "
                    out.append(head + format_array(v).replace("\n", "\n" + " " * len(head)))
                out += ["```", ""]
    return "\n".join(out)


_CSS = """body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#222}
h2{border-bottom:2px solid #ccd;margin-top:2rem}.rec{margin:1rem 0;padding:.5rem 1rem;
background:#f7f7fb;border-left:4px solid #88a}.eq{font-family:serif;font-size:1.1rem}
table{border-collapse:collapse;font-size:.9rem}td,th{padding:.15rem .6rem;
border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}
pre{background:#fff;padding:.4rem;overflow-x:auto}"""


def to_html(trace, standalone: bool = True, phases=None) -> str:
    """The trace as HTML (a whole page when ``standalone``, else a ``<div>`` fragment)."""
    e = html.escape
    parts = [f'<div class="glassnet-trace"><p><b>{e(_summary(trace))}</b></p>']
    for phase, heading in _phases(phases):
        recs = trace.phase(phase)
        if not recs:
            continue
        parts.append(f"<h2>{e(heading)}</h2>")
        for r in recs:
            parts.append(f'<div class="rec"><h3>{e(_title(r))}</h3>')
            parts += [f'<div class="eq">{e(n)}</div>' for n in r.notation.split("\n")]
            if r.stats:
                parts.append("<table><tr><th>tensor</th><th>shape</th>"
                             + "".join(f"<th>{c}</th>" for c in _COLS) + "</tr>")
                for name, st in r.stats.items():
                    cells = ([_num(st["value"])] + [""] * (len(_COLS) - 1) if "value" in st
                             else [_num(st[k]) if k in st else "" for k in _COLS])
                    parts.append(f"<tr><td>{e(name)}</td><td>{e(str(r.shapes.get(name, '')))}"
                                 "</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
                parts.append("</table>")
            if r.values:
                body = "\n".join(f"{name} = {format_array(v)}" for name, v in r.values.items())
                parts.append(f"<pre>{e(body)}</pre>")
            parts.append("</div>")
    parts.append("</div>")
    frag = "\n".join(parts)
    if not standalone:
        return frag
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>glassnet trace</title><style>{_CSS}</style></head><body>\n{frag}\n"
            "</body></html>\n")
