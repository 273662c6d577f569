"""A fake accelerator for testing the device path without a GPU: device ``"fake"``.

It behaves like CuPy where it matters for glassnet:

* Its arrays (:class:`FakeArray`) wrap a NumPy array but are a different type, so
  ``glassnet.backend.xp_of`` must route them to the fake array module ``fake_xp``.
* ``__array__`` RAISES TypeError, as CuPy does: any ``np.asarray(device_array)`` left in
  glassnet (an implicit device -> host copy) fails loudly. ``.get()`` is the explicit copy.
* Mixing a FakeArray with a host ``np.ndarray`` in one op raises TypeError, as CuPy does.
* NumPy functions called on FakeArrays (NEP 18 ``__array_function__``, NEP 13
  ``__array_ufunc__``) work only for names CuPy also has (``CUPY_NAMES``); so do attributes of
  ``fake_xp``. Anything else raises, so code that works here should work on CuPy.
* Reductions and scalar indexing return 0-d arrays, never NumPy scalars (CuPy's rule).

Register it with ``install()`` (tests/conftest.py does) and remove it with ``uninstall()``.
"""
from types import SimpleNamespace

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from glassnet import backend

# functions and ufuncs that CuPy provides under the same name (checked against CuPy's docs)
CUPY_NAMES = frozenset("""
abs absolute add all allclose amax amin any arange argmax argmin argsort array array_equal
array_split asarray ascontiguousarray bincount broadcast_arrays broadcast_shapes broadcast_to
ceil clip concatenate copy copyto cos cosh count_nonzero cumprod cumsum diag divide dot
dtype einsum empty empty_like equal exp expand_dims expm1 eye flip float16 float32 float64
floor full full_like greater greater_equal int8 int32 int64 isclose isfinite isinf isnan
issubdtype less less_equal linspace log log1p logaddexp logical_and logical_not logical_or
matmul max maximum mean min minimum moveaxis multiply nan_to_num ndim negative nonzero
not_equal ones ones_like outer pad power prod ravel repeat reshape result_type round rint
shape shares_memory sign sin sinh sort split sqrt square squeeze stack std subtract sum
swapaxes take take_along_axis tanh tensordot tile transpose true_divide uint8 unique var
where zeros zeros_like bool_ float_ inf nan pi newaxis e integer floating dtype finfo iinfo
atleast_1d atleast_2d may_share_memory reciprocal sqrt cbrt exp2 log2 log10 fmax fmin
triu tril trace vstack hstack argwhere flatnonzero around isscalar size bitwise_and
bitwise_or bitwise_xor invert floor_divide remainder mod fmod positive signbit copysign arctan2
hypot tan arctan arcsin arccos logical_xor conjugate
arcsinh arccosh arctanh trunc fix left_shift right_shift logaddexp2 isposinf isneginf
""".split())


def _unwrap(x, what="argument"):
    if isinstance(x, FakeArray):
        return x._a
    if isinstance(x, np.ndarray):
        raise TypeError(f"fake device: {what} is a host numpy.ndarray {x.shape}; move it "
                        f"to the device first (CuPy refuses implicit host -> device copies)")
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, what) for v in x)
    return x


def _wrap(x):
    if isinstance(x, np.ndarray):
        return FakeArray(x)
    if isinstance(x, np.generic):            # CuPy returns 0-d arrays, never NumPy scalars
        return FakeArray(np.asarray(x))
    if isinstance(x, tuple):
        return tuple(_wrap(v) for v in x)
    if isinstance(x, list):
        return [_wrap(v) for v in x]
    return x


class _Flags:
    def __init__(self, flags):
        self.c_contiguous = flags.c_contiguous
        self.f_contiguous = flags.f_contiguous
        self.owndata = flags.owndata


class FakeArray(NDArrayOperatorsMixin):
    """A device array: a NumPy array in disguise that refuses implicit host conversion."""

    __slots__ = ("_a",)

    def __init__(self, a: np.ndarray):
        self._a = a

    # -- refusing the host, like CuPy
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use "
                        "`.get()` to construct a NumPy array explicitly. (fake device)")

    def get(self) -> np.ndarray:
        """Explicit device -> host copy (CuPy's spelling)."""
        return self._a.copy()

    # -- NEP 13 / NEP 18
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if ufunc.__name__ not in CUPY_NAMES:
            return NotImplemented
        if method == "at":                   # ufunc.at(a, indices, b): CuPy >= 13 has it
            a, key, *rest = inputs
            getattr(ufunc, method)(a._a, _key(key), *_unwrap(tuple(rest), "at()"))
            return None
        if any(not isinstance(x, (FakeArray, np.ndarray, np.generic, int, float, bool,
                                  complex)) for x in inputs):
            return NotImplemented
        args = _unwrap(inputs, f"an operand of {ufunc.__name__}")
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = tuple(_unwrap(o, "out=") for o in out)
        result = getattr(ufunc, method)(*args, **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        if func.__name__ not in CUPY_NAMES:
            raise TypeError(f"fake device: numpy.{func.__name__} has no CuPy counterpart "
                            f"here; call it through xp_of(...) on a supported name")
        if any(not issubclass(t, (FakeArray, np.ndarray)) for t in types):
            return NotImplemented
        args = _unwrap(args, f"an argument of {func.__name__}")
        kwargs = {k: _unwrap(v, f"{func.__name__}({k}=)") for k, v in kwargs.items()}
        return _wrap(func(*args, **kwargs))

    # -- the ndarray surface glassnet uses
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    T = property(lambda self: FakeArray(self._a.T))
    flags = property(lambda self: _Flags(self._a.flags))

    def __getattr__(self, name):             # methods: reshape, sum, astype, copy ...
        if name.startswith("__") or name in ("tofile", "tobytes", "dump", "dumps"):
            raise AttributeError(name)
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr)

        def method(*args, **kwargs):
            args = _unwrap(args, f"an argument of .{name}()")
            kwargs = {k: _unwrap(v, f".{name}({k}=)") for k, v in kwargs.items()}
            return _wrap(attr(*args, **kwargs))
        return method

    def item(self):
        return self._a.item()

    def tolist(self):
        return self._a.tolist()

    def __getitem__(self, key):
        return _wrap(self._a[_key(key)])

    def __setitem__(self, key, value):
        self._a[_key(key)] = _unwrap(value, "the value assigned")

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (FakeArray(np.asarray(v)) for v in self._a)

    def __bool__(self):
        return bool(self._a)

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __index__(self):
        return self._a.__index__()

    def __repr__(self):
        return f"fake_array({self._a!r})"

    def __copy__(self):
        return FakeArray(self._a.copy())

    def __deepcopy__(self, memo):
        return FakeArray(self._a.copy())

    def __reduce__(self):
        raise TypeError("fake device arrays cannot be pickled (CuPy's pickle copies to host; "
                        "glassnet should save via to_host)")


def _key(key):
    """Index keys may hold device arrays (and host ints/slices), as CuPy allows."""
    if isinstance(key, FakeArray):
        return key._a
    if isinstance(key, tuple):
        return tuple(k._a if isinstance(k, FakeArray) else k for k in key)
    return key


def _fake_as_strided(x, shape=None, strides=None):
    """``cupy.lib.stride_tricks.as_strided``: CuPy's signature (no ``writeable``)."""
    return FakeArray(np.lib.stride_tricks.as_strided(_unwrap(x, "as_strided(x)"), shape,
                                                     strides))


class _FakeXP:
    """The fake device's array module: CuPy-like names, results on the fake device."""

    ndarray = FakeArray
    __name__ = "fake_xp"
    lib = SimpleNamespace(stride_tricks=SimpleNamespace(as_strided=_fake_as_strided))

    def asarray(self, a, dtype=None, order=None):
        if isinstance(a, FakeArray):
            return a if dtype is None or a.dtype == dtype else FakeArray(a._a.astype(dtype))
        return FakeArray(np.array(a, dtype=dtype, order=order, copy=True))

    def array(self, a, dtype=None, copy=True, order="K", ndmin=0):
        src = a._a if isinstance(a, FakeArray) else a
        return FakeArray(np.array(src, dtype=dtype, copy=copy, order=order, ndmin=ndmin))

    def ascontiguousarray(self, a, dtype=None):
        src = a._a if isinstance(a, FakeArray) else np.asarray(a)
        return FakeArray(np.ascontiguousarray(src, dtype=dtype))

    def asnumpy(self, a):
        return a.get() if isinstance(a, FakeArray) else np.asarray(a)

    def __getattr__(self, name):
        if name not in CUPY_NAMES:
            raise AttributeError(f"fake_xp has no {name!r} (CuPy does not either, or it is "
                                 f"not in tests/_fakedevice.CUPY_NAMES)")
        fn = getattr(np, name)
        if name in _CREATORS:                # no array argument: build on host, then wrap
            return lambda *a, **k: _wrap(fn(*_unwrap(a), **k))
        return fn                            # dispatches through __array_(ufunc|function)__


_CREATORS = {"zeros", "ones", "empty", "full", "arange", "linspace", "eye"}
fake_xp = _FakeXP()


def _fake_erf(x):
    from scipy.special import erf
    return FakeArray(erf(x._a))


DEVICE = backend.Device(
    name="fake", load_xp=lambda: fake_xp, owns=lambda t: issubclass(t, FakeArray),
    to_device=lambda a: FakeArray(np.array(a, copy=True)), to_host=lambda a: a.get(),
    erf=_fake_erf)


def install() -> None:
    """Register device ``"fake"`` with glassnet's backend registry."""
    backend.register_device(DEVICE)


def uninstall() -> None:
    backend.unregister_device("fake")
