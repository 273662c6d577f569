"""A small builder for ONNX graphs: unique names, nodes, weights and int64 constants.

Every converter (``layers.py``, ``recurrent.py``, ``ops.py``) writes through one
:class:`Graph`; it knows nothing about glassnet's tensors. ``import onnx`` here is the real
``onnx`` package (absolute import), never this ``glassnet.onnx`` package.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from .errors import ExportError

__all__ = ["Graph", "value_info", "check"]


class Graph:
    """Nodes and initializers of one ONNX graph under construction.

    Args:
        opset: the ONNX opset version the nodes are written for.
    """

    def __init__(self, opset: int):
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self._used: set = set()

    def fresh(self, hint: str) -> str:
        """A value name not used yet, built from ``hint``."""
        base = "".join(c if c.isalnum() or c in "._" else "_" for c in hint) or "v"
        name, k = base, 1
        while name in self._used:
            name, k = f"{base}_{k}", k + 1
        self._used.add(name)
        return name

    def reserve(self, name: str) -> str:
        """Claim an exact name (graph inputs and outputs); an error if it is taken."""
        if name in self._used:
            raise ExportError(f"onnx.export: the name {name!r} is used twice (input_names / "
                              f"output_names must be unique)")
        self._used.add(name)
        return name

    def node(self, op: str, inputs, hint: str = "", n_out: int = 1, **attrs):
        """Append a node; returns its output name (or a list of names if ``n_out`` > 1)."""
        outs = [self.fresh(f"{hint or op.lower()}" + (f"_out{i}" if n_out > 1 else ""))
                for i in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op, list(inputs), outs,
                                           name=self.fresh(f"{op}_{len(self.nodes)}"), **attrs))
        return outs[0] if n_out == 1 else outs

    def weight(self, array, hint: str) -> str:
        """Store ``array`` as an initializer; returns its name."""
        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.array(array, order="C"), name))
        return name

    def ints(self, values, hint: str = "const") -> str:
        """A 1-d int64 constant (shapes, axes, pads)."""
        return self.weight(np.asarray(values, dtype=np.int64).reshape(-1), hint)

    def model(self, inputs, outputs, producer: str):
        """The finished ``onnx.ModelProto``; ``inputs``/``outputs``: value infos."""
        graph = helper.make_graph(self.nodes, "glassnet", inputs, outputs, self.initializers)
        model = helper.make_model(graph, producer_name=producer,
                                  opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = min(model.ir_version, _IR_FOR_OPSET.get(self.opset, 8))
        return model


# the oldest IR version that carries each opset (runtimes may refuse a newer IR than they know)
_IR_FOR_OPSET = {17: 8, 18: 8, 19: 9, 20: 9, 21: 10}


def value_info(name: str, dtype, shape):
    """A graph input/output description; ``shape`` entries are ints, strings (symbolic) or
    None (unknown)."""
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(np.dtype(dtype)),
                                         shape)


def check(model) -> None:
    """``onnx.checker`` with full checks; raises ExportError naming the problem."""
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as e:       # an exporter bug, reported plainly
        raise ExportError(f"onnx.export: the exported graph failed onnx.checker: {e}") from e


FLOAT = TensorProto.FLOAT
