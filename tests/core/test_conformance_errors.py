"""Bad arguments raise the exception class PyTorch raises (and still ValueError, as before).

Each case runs the same call on PyTorch and on glassnet: PyTorch must raise the expected class
(the oracle) and glassnet must raise an instance of it, with a message naming the op.
"""
import numpy as np
import pytest
import torch

import glassnet as gn
import glassnet.nn.functional as F
from glassnet.errors import ArgumentError, DTypeError, UnsupportedModeError

X = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)


CASES = {  # name: (call written once for both libraries, expected class, text in message)
    "clamp_no_bounds": (lambda m, f, x: x.clip(None, None), RuntimeError, "clamp"),
    "diagonal_same_dims": (lambda m, f, x: x.diagonal(dim1=0, dim2=0), RuntimeError, "diagonal"),
    "div_rounding_mode": (lambda m, f, x: x.div(x, rounding_mode="typo"), RuntimeError, "div"),
    "flip_dim_twice": (lambda m, f, x: x.flip((0, 0)), RuntimeError, "flip"),
    "flip_dim_twice_negative": (lambda m, f, x: x.flip((1, -1)), RuntimeError, "flip"),
    "gather_index_dims": (lambda m, f, x: x.gather(0, m.tensor([1])), RuntimeError, "gather"),
    "scatter_index_larger": (lambda m, f, x: x.scatter(1, m.zeros((4, 4), dtype=m.int64), 1.0),
                             RuntimeError, "scatter"),
    "scatter_reduce_unknown": (lambda m, f, x: x.scatter_reduce(
        0, m.zeros((3, 4), dtype=m.int64), x, reduce="INVALID"), RuntimeError, "scatter_reduce"),
    "roll_shifts_without_dims": (lambda m, f, x: x.roll((1, 2)), RuntimeError, "roll"),
    "unfold_too_large": (lambda m, f, x: x[0].unfold(0, 9, 3), RuntimeError, "unfold"),
    "unfold_negative_step": (lambda m, f, x: x[0].unfold(0, 1, -1), RuntimeError, "unfold"),
    "meshgrid_indexing": (lambda m, f, x: m.meshgrid(x[0], x[1], indexing="bad"), RuntimeError,
                          "meshgrid"),
    "einsum_sizes_differ": (lambda m, f, x: m.einsum("ij,jk->ik", x, x), RuntimeError, "einsum"),
    "einsum_two_ellipses": (lambda m, f, x: m.einsum("...ik..., ...jk ->", x, x), RuntimeError,
                            "einsum"),
    "int_negative_power": (lambda m, f, x: m.tensor([-2, 0, 2]) ** -2, RuntimeError, "pow"),
    "conv_negative_padding": (lambda m, f, x: f.conv2d(x[None, None], m.ones((1, 1, 2, 2)),
                                                       padding=-1), RuntimeError, "padding"),
    "pool_padding_length": (lambda m, f, x: f.max_pool2d(x[None, None], 2, padding=(1, 1, 1)),
                            RuntimeError, "padding"),
    "pad_mode_typo": (lambda m, f, x: f.pad(x[None], (1, 0), mode="typo"), NotImplementedError,
                      "pad"),
    "linspace_bool": (lambda m, f, x: m.linspace(
        5, 10, 3, dtype=torch.bool if m is torch else np.bool_), NotImplementedError, "linspace"),
    "lshift_float": (lambda m, f, x: x << 2, NotImplementedError, "bitwise_left_shift"),
    "and_float": (lambda m, f, x: x & 2, NotImplementedError, "bitwise_and"),
    "scatter_src_dtype": (lambda m, f, x: x.half().scatter(1, m.zeros((3, 4), dtype=m.int64), x),
                          RuntimeError, "scatter"),
    "scatter_reduce_src_dtype": (lambda m, f, x: x.half().scatter_reduce(
        1, m.zeros((3, 4), dtype=m.int64), x, reduce="sum"), RuntimeError, "scatter"),
}
DTYPE_CASES = {"lshift_float", "and_float", "scatter_src_dtype", "scatter_reduce_src_dtype"}


def _call(fn, lib):
    return fn(lib, torch.nn.functional if lib is torch else F,
              torch.tensor(X) if lib is torch else gn.tensor(X))


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_class_matches_torch(name):
    fn, cls, text = CASES[name]
    with pytest.raises(cls):
        _call(fn, torch)
    with pytest.raises(cls, match=text) as info:
        _call(fn, gn)
    # glassnet code catching its earlier class still works
    assert isinstance(info.value, TypeError if name in DTYPE_CASES else ValueError)


def test_error_classes_are_both():
    assert issubclass(ArgumentError, ValueError) and issubclass(ArgumentError, RuntimeError)
    assert issubclass(UnsupportedModeError, ValueError)
    assert issubclass(UnsupportedModeError, NotImplementedError)
    assert issubclass(DTypeError, TypeError) and issubclass(DTypeError, NotImplementedError)


@pytest.mark.parametrize("case", ["shape", "unexpected", "missing"])
def test_load_state_dict_errors_are_runtime_errors(case):
    """PyTorch raises RuntimeError for a size mismatch and for unexpected/missing keys."""
    sd = {"shape": {"weight": np.ones((4, 4), np.float32)},
          "unexpected": {"weight": np.ones((2, 2), np.float32), "x": np.ones(1, np.float32)},
          "missing": {}}[case]
    with pytest.raises(RuntimeError):
        torch.nn.Linear(2, 2, bias=False).load_state_dict(
            {k: torch.tensor(v) for k, v in sd.items()})
    with pytest.raises(RuntimeError, match="load_state_dict") as info:
        gn.nn.Linear(2, 2, bias=False).load_state_dict(sd)
    assert isinstance(info.value, ValueError if case == "shape" else KeyError)


def test_batchnorm_without_running_stats_refuses_num_batches_tracked():
    sd = {"weight": np.ones(1, np.float32), "bias": np.ones(1, np.float32),
          "num_batches_tracked": np.ones(1, np.float32)}
    with pytest.raises(RuntimeError, match="num_batches_tracked"):
        torch.nn.BatchNorm2d(1, track_running_stats=False).load_state_dict(
            {k: torch.tensor(v) for k, v in sd.items()})
    with pytest.raises(RuntimeError, match="num_batches_tracked"):
        gn.nn.BatchNorm2d(1, track_running_stats=False).load_state_dict(sd)
