"""Array backends: NumPy on the CPU, CuPy on CUDA, and any device a test registers.

Every op asks its inputs which array module to use (``xp = xp_of(a.array)``) and calls
``xp.exp``, ``xp.zeros`` ... instead of ``np.*``, so the same code runs on NumPy arrays and on
CuPy arrays. The lookup goes by the array's *type* and never imports CuPy: a CPU-only machine
never loads it (``import glassnet`` leaves ``cupy`` out of ``sys.modules``).

Devices are named by strings, like PyTorch: ``"cpu"`` (NumPy, the default) and ``"cuda"``
(CuPy, optional: ``pip install glassnet[gpu]``). ``"cuda:0"`` means ``"cuda"``; only one GPU
is supported. Tests register a third device, ``"fake"``, with :func:`register_device`
(see ``tests/_fakedevice.py``).

Randomness (weight init, dropout masks, ``randn``) is always drawn from glassnet's host
generator and then moved to the device, so one seed gives the same numbers on every device.

Example:
    >>> from glassnet.backend import xp_of, device_of, to_device
    >>> import numpy as np
    >>> xp_of(np.ones(3)) is np, device_of(np.ones(3))
    (True, 'cpu')
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Device", "xp_of", "device_of", "to_device", "to_host", "gpu_available",
           "register_device", "unregister_device", "normalize_device", "is_device",
           "devices", "xp_for_device", "erf"]


@dataclass
class Device:
    """One array backend.

    Args:
        name: the device string (``"cpu"``, ``"cuda"``, ``"fake"``).
        load_xp: returns the array module (imported lazily on first use).
        owns: ``owns(array_type) -> bool``, whether arrays of this type live on the device.
        to_device: host ``np.ndarray`` -> device array.
        to_host: device array -> ``np.ndarray`` (a copy).
        erf: element-wise error function on device arrays (``scipy.special.erf`` on CPU).
    """
    name: str
    load_xp: Callable
    owns: Callable
    to_device: Callable
    to_host: Callable
    erf: Callable | None = None
    _xp: object = None

    @property
    def xp(self):
        if self._xp is None:
            self._xp = self.load_xp()
        return self._xp


def _load_cupy():
    import cupy  # noqa: PLC0415  (optional dependency, imported only when asked for)
    return cupy


def _cupy_erf(x):
    from cupyx.scipy.special import erf as cupy_erf  # noqa: PLC0415
    return cupy_erf(x)


def _scipy_erf(x):
    from scipy.special import erf as scipy_erf  # noqa: PLC0415
    return scipy_erf(x)


_DEVICES: dict[str, Device] = {
    "cpu": Device("cpu", lambda: np, lambda t: t.__module__ == "numpy",
                  lambda a: a, lambda a: a, _scipy_erf, np),
    "cuda": Device("cuda", _load_cupy, lambda t: t.__module__.split(".")[0] == "cupy",
                   lambda a: _load_cupy().asarray(a), lambda a: a.get(), _cupy_erf),
}
# array type -> Device; ndarray is first so the CPU path costs one dict lookup
_BY_TYPE: dict[type, Device] = {np.ndarray: _DEVICES["cpu"]}


def register_device(device: Device) -> None:
    """Add a device (tests use it for the fake device). Replaces one of the same name."""
    if not isinstance(device, Device):
        raise TypeError(f"register_device(device): expected a Device, got "
                        f"{type(device).__name__}")
    if device.name in ("cpu", "cuda"):
        raise ValueError(f"register_device: '{device.name}' is built in and cannot be replaced")
    _DEVICES[device.name] = device
    _BY_TYPE.clear()
    _BY_TYPE[np.ndarray] = _DEVICES["cpu"]


def unregister_device(name: str) -> None:
    """Remove a device added with :func:`register_device`."""
    if name in ("cpu", "cuda"):
        raise ValueError(f"unregister_device: '{name}' is built in")
    _DEVICES.pop(name, None)
    _BY_TYPE.clear()
    _BY_TYPE[np.ndarray] = _DEVICES["cpu"]


def devices() -> list:
    """Names of the known devices (whether or not they are usable here)."""
    return list(_DEVICES)


def _device_of_type(t: type) -> Device:
    dev = _BY_TYPE.get(t)
    if dev is None:
        dev = _DEVICES["cpu"]                 # lists, Python and NumPy scalars: host data
        for d in reversed(list(_DEVICES.values())):   # the latest registration wins
            if d.name != "cpu" and d.owns(t):
                dev = d
                break
        _BY_TYPE[t] = dev
    return dev


def xp_of(*arrays):
    """The array module (``numpy``, ``cupy`` ...) for these arrays; NumPy when all are host data.

    Cheap (one dict lookup per array). Mixed devices are not checked here; the ops check
    them (``glassnet.ops._util.same_device``) and name the op in the error.
    """
    for a in arrays:
        t = type(a)
        if t is np.ndarray:
            continue
        dev = _BY_TYPE.get(t) or _device_of_type(t)
        if dev.name != "cpu":
            return dev.xp
    return np


def device_of(array) -> str:
    """``"cpu"``, ``"cuda"`` or a registered device's name, from the array's type."""
    t = type(array)
    if t is np.ndarray:
        return "cpu"
    return (_BY_TYPE.get(t) or _device_of_type(t)).name


def is_device(value) -> bool:
    """Whether ``value`` is a device string (``"cpu"``, ``"cuda"``, ``"cuda:0"``, ...)."""
    return isinstance(value, str) and value.split(":")[0] in _DEVICES


def normalize_device(device) -> str:
    """``"cuda:0"`` -> ``"cuda"``; a ``Tensor``'s ``.device`` string passes through.

    Raises ValueError naming the known devices for anything else.
    """
    name = str(device)
    base, _, index = name.partition(":")
    if base not in _DEVICES:
        raise ValueError(f"device={device!r}: expected one of {devices()} "
                         f"(optionally 'cuda:0')")
    if index not in ("", "0"):
        raise ValueError(f"device={device!r}: only one device per kind is supported "
                         f"(index 0)")
    return base


def xp_for_device(device) -> object:
    """The array module of a device (imports CuPy for ``"cuda"``)."""
    name = normalize_device(device)
    if name == "cuda":
        _require_cuda()
    return _DEVICES[name].xp


def _require_cuda() -> None:
    if not gpu_available():
        raise RuntimeError("device='cuda': CUDA is not available (install the 'gpu' extra, "
                           "pip install 'glassnet[gpu]', on a machine with an NVIDIA GPU); "
                           "glassnet.backend.gpu_available() tells")


def to_host(array) -> np.ndarray:
    """Copy a device array to a host ``np.ndarray`` (host arrays are returned as they are)."""
    if type(array) is np.ndarray:
        return array
    dev = device_of(array)
    return np.asarray(array) if dev == "cpu" else _DEVICES[dev].to_host(array)


def to_device(array, device):
    """Move ``array`` to ``device`` (no copy when it is already there).

    Example:
        >>> to_device(np.ones(2), "cpu")
        array([1., 1.])
    """
    target = normalize_device(device)
    src = device_of(array)
    if src == target:
        return array
    host = _DEVICES[src].to_host(array) if src != "cpu" else np.asarray(array)
    if target == "cpu":
        return host
    if target == "cuda":
        _require_cuda()
    return _DEVICES[target].to_device(host)


def erf(x):
    """Gauss's error function on the array's own device."""
    return _DEVICES[device_of(x)].erf(x)


_gpu_ok: bool | None = None


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device (never raises)."""
    global _gpu_ok
    if _gpu_ok is None:
        try:
            cupy = _load_cupy()
            _gpu_ok = cupy.cuda.runtime.getDeviceCount() > 0
        except Exception:  # noqa: BLE001  (no CuPy, no driver, no device: all mean "no")
            _gpu_ok = False
    return _gpu_ok
