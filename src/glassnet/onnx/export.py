"""``export(model, example_input, path)``: trace one forward pass and write an ONNX file.

How the trace works (a module-aware tracer):

1. Every module of the model gets a temporary recording ``forward`` (an instance attribute
   that shadows the class's method and is removed afterwards). The model runs once on the
   example input with gradient recording on, so every op leaves its node in glassnet's graph
   (``Tensor._parents`` / ``_op``). Each call of a *known layer* (Linear, Conv2d, LSTM, …:
   the table in ``layers.py`` / ``recurrent.py``) is remembered with its arguments and
   outputs.
2. From the model's outputs the exporter walks the graph back to the inputs. A tensor that a
   known layer returned becomes that layer's ONNX nodes (written from the layer's settings
   and weights; its inner ops are not looked at). Any other tensor is the output of a
   primitive op (``x + y``, ``x.view(...)``, ``x[:, -1]``, ``gn.cat``, ``F.relu``, …) that a
   custom ``forward`` ran between layers: ``ops.py`` maps it by its op name. Containers
   (Sequential, ModuleList, ModuleDict) and user-defined modules are transparent: their
   ``forward`` is simply what got traced.
3. A glassnet layer that is not in the table, or an op that ``ops.py`` does not know, stops
   the export with an error naming it. Parameters and buffers become initializers (named by
   their state-dict key); other tensors that no op produced become constants.

The batch dimension (``batch_axis`` of each input, 0 by default) is made symbolic when
``dynamic_batch`` is true; the exporter follows where it goes through reshapes, transposes
and indexing so that the ONNX ``Reshape`` nodes keep it free. Other sizes (sequence length,
image size) are fixed to the example's, as in a traced PyTorch export without
``dynamic_axes``. Python control flow runs once: a branch or loop that depends on the data is
frozen to the path the example took.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..backend import to_device, to_host
from ..io import atomic_write_bytes
from ..nn import Module
from ..tensor import Tensor, enable_grad, no_grad
from .errors import ExportError

__all__ = ["export"]


def export(model, example_input, path, input_names=None, output_names=None,
           dynamic_batch: bool = True, opset_version: int = 17, *, batch_axis=0,
           verify: bool = False):
    """Write ``model`` as an ONNX file that onnxruntime (or any ONNX runtime) can serve.

    The model runs once on ``example_input`` in eval mode (dropout off, batch norm on its
    running statistics; the training flag is restored afterwards) and the ops it ran are
    written as an ONNX graph (see the module docstring for how the trace works). The file is
    checked with ``onnx.checker`` and written atomically.

    Args:
        model: a ``glassnet.nn.Module``: Sequential stacks and custom modules built from the
            supported layers (``glassnet.onnx.supported_layers()``) and simple tensor ops.
        example_input: a Tensor (or NumPy array), or a tuple of them for a model with
            several inputs. Integer tensors (token ids for Embedding) stay int64.
        path: the ``.onnx`` file to write (its folder must exist).
        input_names: names of the graph inputs (default ``input`` or ``input0``, ``input1``, …).
        output_names: names of the graph outputs, one per tensor the model returns, nested
            tuples flattened in order (an LSTM's ``out, (h_n, c_n)`` gives three; default
            ``output`` or ``output0``, …).
        dynamic_batch: make the batch size symbolic (``"batch"``) so that the file runs on
            any batch size (default True). The example batch must then have at least 2 rows.
        opset_version: ONNX opset, 17 (default) to 21.
        batch_axis: keyword-only; which axis of the inputs is the batch: an int for all, or
            one int per input (None: that input has no batch axis). Default 0; 1 for a
            time-major ``(L, N, H_in)`` recurrent model.
        verify: keyword-only; before writing, run the graph (with onnxruntime if installed,
            else ``onnx``'s slower reference evaluator) on a batch one row larger than the
            example (its first row repeated) and compare every output with glassnet's
            (rtol = atol = 1e-4): catches a size that a custom forward froze. With
            ``dynamic_batch=False`` the example batch itself is run.

    Returns:
        The path written, as a ``pathlib.Path``.

    Raises:
        ValueError (``glassnet.onnx.ExportError``): an unsupported layer or op (named), or a
            bad argument. ImportError: the ``onnx`` package is missing
            (``pip install 'glassnet[onnx]'``).

    Example:
        >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
        >>> gn.onnx.export(model, gn.randn(2, 4), "mlp.onnx")
    """
    try:
        from . import trace as tr      # noqa: PLC0415  (imports the optional onnx package)
    except ModuleNotFoundError as e:
        if e.name != "onnx" and not str(e.name).startswith("onnx."):
            raise
        raise ImportError("glassnet.onnx.export needs the onnx package: pip install "
                          "'glassnet[onnx]' (or pip install onnx)") from e
    if not isinstance(model, Module):
        raise TypeError(f"onnx.export(model): expected a glassnet.nn.Module, got "
                        f"{type(model).__name__}")
    if isinstance(opset_version, bool) or not isinstance(opset_version, (int, np.integer)) \
            or not 17 <= opset_version <= 21:
        raise ExportError(f"onnx.export(opset_version={opset_version!r}): expected an int "
                         f"from 17 to 21")
    device = next((p.device for p in model.parameters()), "cpu")
    inputs = _inputs(example_input, device)
    names_in = _names("input_names", input_names, len(inputs), "input")
    axes = _batch_axes(batch_axis, inputs, dynamic_batch)
    was_training = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        calls, out = _run(model, inputs)
        outs = _flatten_outputs(out)
        names_out = _names("output_names", output_names, len(outs), "output")
        params = {id(t): k for k, t in list(model.named_parameters()) +
                  list(model.named_buffers()) if isinstance(t, Tensor)}
        proto = tr.build(calls, inputs, names_in, outs, names_out, params,
                         int(opset_version), axes)
        if verify:
            _verify(model, proto, inputs, names_in, names_out, axes)
    finally:
        for m, mode in was_training:
            m.training = mode
    path = Path(path)
    atomic_write_bytes(path, proto.SerializeToString())
    return path


def _verify(model, proto, inputs, names_in, names_out, axes) -> None:
    """Run ``proto`` on a batch of N + 1 (onnxruntime if installed, else onnx's reference
    evaluator) and compare with glassnet."""
    host = [to_host(t.array) for t in inputs]
    feeds = [d if a is None else np.concatenate([d, np.take(d, [0], a)], a)
             for d, a in zip(host, axes)]
    with no_grad():
        want = [to_host(w.array) for w in _flatten_outputs(
            model(*[Tensor(to_device(f, inputs[0].device)) for f in feeds]))]
    try:
        got = _runtime(proto).run(None, dict(zip(names_in, feeds)))
    except Exception as e:          # noqa: BLE001  (any runtime failure is the finding)
        raise ExportError(f"onnx.export(verify=True): the exported graph failed on a batch "
                          f"of another size: {type(e).__name__}: {e}") from e
    for name, g, w in zip(names_out, got, want):
        if g.shape != w.shape or not np.allclose(g, w, rtol=1e-4, atol=1e-4):
            diff = "shape " + str(g.shape) + " vs " + str(w.shape) if g.shape != w.shape \
                else f"largest difference {float(np.abs(g - w).max()):.3g}"
            raise ExportError(f"onnx.export(verify=True): output {name!r} differs from "
                              f"glassnet's on a batch of another size ({diff}); a size "
                              f"taken from an input's shape in forward may be frozen")


def _runtime(proto):
    try:
        import onnxruntime     # noqa: PLC0415  (optional: the fast, complete runtime)
    except ImportError:
        from onnx.reference import ReferenceEvaluator    # noqa: PLC0415
        return ReferenceEvaluator(proto)
    return onnxruntime.InferenceSession(proto.SerializeToString(),
                                        providers=["CPUExecutionProvider"])


def _inputs(example_input, device: str) -> list:
    items = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    if not items:
        raise ValueError("onnx.export(example_input): expected a Tensor or a tuple of Tensors, "
                         "got an empty sequence")
    out = []
    for i, x in enumerate(items):
        data = to_host(x.array) if isinstance(x, Tensor) else x
        if not isinstance(data, np.ndarray) or data.dtype.kind not in "biuf":
            raise TypeError(f"onnx.export(example_input): item {i} must be a numeric Tensor or "
                            f"NumPy array, got {type(x).__name__}")
        data = to_device(np.array(data), device)       # a private copy, on the model's device
        floating = data.dtype.kind == "f"
        out.append(Tensor(data, requires_grad=floating))   # so every op on it is recorded
    return out


def _batch_axes(batch_axis, inputs: list, dynamic: bool) -> list:
    """One batch axis (or None) per input; checks that each example batch has >= 2 rows."""
    n = len(inputs)
    axes = list(batch_axis) if isinstance(batch_axis, (tuple, list)) else [batch_axis] * n
    if len(axes) != n or not all(a is None or (isinstance(a, (int, np.integer)) and
                                               not isinstance(a, bool)) for a in axes):
        raise ExportError(f"onnx.export(batch_axis={batch_axis!r}): expected an int or "
                          f"{n} ints/None (one per input)")
    if not dynamic:
        return [None] * n
    out = []
    for t, a in zip(inputs, axes):
        if a is not None and not -t.ndim <= a < t.ndim:
            raise ExportError(f"onnx.export(batch_axis={batch_axis!r}): axis {a} is out of "
                              f"range for an example input of shape {tuple(t.shape)}")
        a = None if a is None else int(a) % t.ndim
        if a is not None and t.shape[a] < 2:
            raise ExportError(f"onnx.export(dynamic_batch=True): expected every example input "
                              f"to have a batch of at least 2 along batch_axis={a} (a batch of "
                              f"1 cannot be told apart from other size-1 dims), got shape "
                              f"{tuple(t.shape)}")
        out.append(a)
    return out


def _names(arg: str, names, n: int, stem: str) -> list:
    if names is None:
        return [stem] if n == 1 else [f"{stem}{i}" for i in range(n)]
    names = [names] if isinstance(names, str) else list(names)
    if len(names) != n or not all(isinstance(s, str) and s for s in names):
        raise ValueError(f"onnx.export({arg}={names!r}): expected {n} non-empty strings")
    return names


def _run(model: Module, inputs: list):
    """Run the model with every module's forward recorded; returns (calls, output)."""
    calls = []
    patched = []

    def recorder(module):
        forward = module.forward

        def record(*args, **kwargs):
            out = forward(*args, **kwargs)
            calls.append((module, args, kwargs, out))
            return out
        return record

    try:
        for m in model.modules():
            if "forward" not in m.__dict__:
                object.__setattr__(m, "forward", recorder(m))
                patched.append(m)
        with enable_grad():
            out = model(*inputs)
    finally:
        for m in patched:
            del m.__dict__["forward"]
    return calls, out


def _flatten_outputs(out) -> list:
    flat, stack = [], [out]
    while stack:
        x = stack.pop()
        if isinstance(x, Tensor):
            flat.append(x)
        elif isinstance(x, (tuple, list)):
            stack.extend(reversed(x))
        elif x is not None:
            raise TypeError(f"onnx.export: the model returned a {type(x).__name__}; expected "
                            f"Tensors, possibly in (nested) tuples")
    if not flat:
        raise ValueError("onnx.export: the model returned no Tensor")
    return flat
