"""Lazy matplotlib: imported inside each plot function, always with the Agg (file) backend."""
from __future__ import annotations

from pathlib import Path

__all__ = ["pyplot", "new_figure", "save", "to_numpy"]


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend, or an ImportError saying how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError("glassnet.viz needs matplotlib: pip install 'glassnet[plot]'") from None
    if "inline" not in str(matplotlib.get_backend()).lower():   # keep a notebook's backend
        matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def new_figure(size=(6.4, 4.0), nrows: int = 1, ncols: int = 1, **kw):
    """``(fig, axes)`` with a fixed size in inches and constrained layout (so the saved PNG is
    exactly ``size × dpi`` pixels)."""
    plt = pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=size, layout="constrained", squeeze=False,
                             **kw)
    return fig, axes


def save(fig, path, dpi: int = 100):
    """Write ``fig`` as PNG to ``path`` (folders created), close it and return the Path.

    With ``path=None`` nothing is written and the (closed) Figure itself is returned: a
    notebook displays it, ``fig.savefig(...)`` still works."""
    plt = pyplot()
    if path is None:
        fig.set_dpi(dpi)
        plt.close(fig)
        return fig
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(path, dpi=dpi, format="png")
    finally:
        plt.close(fig)
    return path


def to_numpy(x):
    """An array from a glassnet Tensor, a torch tensor or anything array-like."""
    import numpy as np

    from ..tensor import Tensor
    if isinstance(x, Tensor):
        return x.array
    if hasattr(x, "detach") and hasattr(x, "cpu"):          # a torch tensor
        return x.detach().cpu().numpy()
    return np.asarray(x)
