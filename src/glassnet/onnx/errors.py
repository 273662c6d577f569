"""The exporter's error (kept apart from the modules that import the optional onnx package)."""

__all__ = ["ExportError"]


class ExportError(ValueError):
    """The model cannot be exported: an unsupported layer or op (named in the message)."""
