"""Turn one recorded forward pass into an ONNX graph (the walk of ``export.py``, step 2).

:class:`Exporter` walks glassnet's graph from the model's outputs back to its inputs
(iteratively: a long hand-written loop over time steps is fine) and asks, for each tensor,
who made it: a known layer (``layers.LAYERS``), a primitive op (``ops.OPS``), or nobody (a
parameter, buffer or constant). It also follows the batch axis of every tensor (``axis``)
so that reshapes keep the batch size free.
"""
from __future__ import annotations

import numpy as np
from onnx import helper

from ..backend import to_host
from ..tensor import Tensor
from . import layers, ops
from .errors import ExportError
from .graph import Graph, check, value_info

__all__ = ["Exporter", "build", "tensors_in"]


def tensors_in(obj) -> list:
    """The Tensors inside (nested) tuples, lists and dicts, in order."""
    out, stack = [], [obj]
    while stack:
        x = stack.pop()
        if isinstance(x, Tensor):
            out.append(x)
        elif isinstance(x, (tuple, list)):
            stack.extend(reversed(x))
        elif isinstance(x, dict):
            stack.extend(reversed(list(x.values())))
    return out


class Call:
    """One call of a known layer: the module, its arguments and its flat tensor outputs."""

    def __init__(self, module, args, kwargs, out, convert):
        self.module, self.args, self.kwargs = module, args, kwargs
        self.x = args[0] if args else kwargs.get("input", kwargs.get("x"))   # the main input
        self.outputs = tensors_in(out)
        self.convert = convert

    def inputs(self) -> list:
        return tensors_in(self.args) + tensors_in(self.kwargs)


class Exporter:
    """State of one export: the ONNX graph, the name and batch axis of each traced tensor."""

    def __init__(self, calls, inputs, input_names, params, opset, batch_axes):
        self.g = Graph(opset)
        self.opset = opset
        self.names: dict = {}
        self.axes: dict = {}
        self.params = params
        self.inputs = inputs
        self.producer: dict = {}
        for t, name, axis in zip(inputs, input_names, batch_axes):
            self.names[id(t)] = self.g.reserve(name)
            self.axes[id(t)] = axis
        self.calls = []
        for module, args, kwargs, out in calls:       # inner calls end first: outer ones win
            convert = layers.converter_for(module)
            if convert is None:
                continue
            call = Call(module, args, kwargs, out, convert)
            own = {id(t) for t in call.inputs()}
            for j, t in enumerate(call.outputs):
                if id(t) not in own:                    # identity layers (Dropout) pass through
                    self.producer[id(t)] = (call, j)
            self.calls.append(call)

    # -- helpers for converters
    def name(self, t: Tensor) -> str:
        return self.names[id(t)]

    def axis(self, t: Tensor):
        """The batch axis of a resolved tensor (None: no batch axis, or unknown)."""
        return self.axes.get(id(t))

    def weight(self, t: Tensor, hint: str = "const") -> str:
        """The initializer for a parameter/buffer (named by its state-dict key) or constant."""
        if id(t) not in self.names:
            self.names[id(t)] = self.g.weight(to_host(t.array),
                                              self.params.get(id(t), hint))
            self.axes[id(t)] = None
        return self.names[id(t)]

    def reshape(self, x: str, in_shape, axis, out_shape, hint: str = "reshape"):
        """Reshape keeping the batch size free: -1 goes where the batch dim lands."""
        target, out_axis = list(out_shape), None
        if axis is not None:
            before, n = int(np.prod(in_shape[:axis])), in_shape[axis]
            for k in range(len(out_shape)):
                if int(np.prod(out_shape[:k])) == before and out_shape[k] != 1 and (
                        out_shape[k] % n == 0 or n % out_shape[k] == 0):
                    target[k], out_axis = -1, k
                    break
        return self.g.node("Reshape", [x, self.g.ints(target, "shape")], hint), out_axis

    # -- the walk
    def resolve(self, root: Tensor) -> str:
        stack = [root]
        while stack:
            t = stack[-1]
            if id(t) in self.names:
                stack.pop()
                continue
            todo = [d for d in self._deps(t) if id(d) not in self.names]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            self._emit(t)
        return self.names[id(root)]

    def _deps(self, t: Tensor) -> list:
        if id(t) in self.producer:
            call = self.producer[id(t)][0]
            return getattr(call.convert, "deps", Call.inputs)(call)
        return [p for p in t._parents if p is not None]

    def _emit(self, t: Tensor) -> None:
        if id(t) in self.producer:
            call = self.producer[id(t)][0]
            results = call.convert(self, call)
            for out, (name, axis) in zip(call.outputs, results):
                if id(out) not in self.names:
                    self.names[id(out)], self.axes[id(out)] = name, axis
            return
        if t._parents:
            convert = ops.OPS.get(t._op)
            if convert is None:
                raise ExportError(f"onnx.export: unsupported op {t._op} (output shape "
                                  f"{tuple(t.shape)}) in a custom forward; supported ops: "
                                  f"{', '.join(sorted(ops.OPS))}")
            self.names[id(t)], self.axes[id(t)] = convert(self, t)
            return
        for x in self.inputs:
            if x.array.dtype.kind in "iub" and isinstance(t.array, np.ndarray) and \
                    isinstance(x.array, np.ndarray) and np.shares_memory(x.array, t.array):
                raise ExportError(f"onnx.export: an op on the integer input {tuple(x.shape)} "
                                  f"ran outside a layer and was not traced (integer tensors "
                                  f"record no graph); pass the ids straight to Embedding")
        self.weight(t)


def build(calls, inputs, input_names, outputs, output_names, params, opset, batch_axes):
    """The checked ``onnx.ModelProto`` of one traced forward pass."""
    ex = Exporter(calls, inputs, input_names, params, opset, batch_axes)
    for name in output_names:                   # claimed first: no inner value takes them
        ex.g.reserve(name)
    out_infos = []
    for t, name in zip(outputs, output_names):
        src = ex.resolve(t)
        ex.g.nodes.append(_identity(src, name))
        axis = ex.axis(t)
        shape = [("batch" if k == axis else s) for k, s in enumerate(t.shape)]
        out_infos.append(value_info(name, t.array.dtype, shape))
    in_infos = [value_info(name, t.array.dtype,
                           [("batch" if k == axis else s) for k, s in enumerate(t.shape)])
                for t, name, axis in zip(inputs, input_names, batch_axes)]
    model = ex.g.model(in_infos, out_infos, "glassnet")
    check(model)
    return model


def _identity(src: str, dst: str):
    return helper.make_node("Identity", [src], [dst], name=f"Identity_{dst}")
