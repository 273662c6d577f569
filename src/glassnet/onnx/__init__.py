"""ONNX export: ``glassnet.onnx.export(model, example_input, "model.onnx")``.

Traces one forward pass of a glassnet model (MLPs, CNNs, RNN/LSTM/GRU models, Sequential
stacks and custom modules built from them) and writes an ONNX file that onnxruntime, or any
ONNX runtime, can serve. Needs the optional ``onnx`` package (``pip install
'glassnet[onnx]'``), imported only when ``export`` runs. See ``docs/onnx.md``.
"""
from .errors import ExportError
from .export import export

__all__ = ["export", "ExportError", "supported_layers"]


def supported_layers() -> list:
    """Names of the glassnet layers the exporter writes (needs the onnx package)."""
    from .layers import supported_layers as names   # noqa: PLC0415  (imports onnx)
    return names()
