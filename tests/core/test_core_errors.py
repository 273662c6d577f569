"""Bad input gives a ValueError/IndexError/TypeError whose message names the op and the shapes."""
import re

import numpy as np
import pytest

import glassnet as gn


def t(*shape):
    return gn.tensor(np.zeros(shape, np.float32))


CASES = [
    ("matmul_core", lambda: t(3, 4) @ t(5, 6), ValueError,
     [r"matmul", r"\(3, 4\)", r"\(5, 6\)"]),
    ("matmul_vec", lambda: gn.matmul(t(3), t(4)), ValueError, [r"matmul", r"\(3,\)", r"\(4,\)"]),
    ("matmul_batch", lambda: t(2, 3, 4) @ t(3, 4, 5), ValueError,
     [r"matmul", r"\(2, 3, 4\)", r"\(3, 4, 5\)"]),
    ("matmul_scalar", lambda: gn.matmul(t(), t(3)), ValueError, [r"matmul", r"\(\)"]),
    ("linear", lambda: gn.ops.linear(t(5, 4), t(2, 3)), ValueError,
     [r"linear", r"\(5, 4\)", r"\(2, 3\)"]),
    ("reshape", lambda: t(2, 3).reshape(4, 2), ValueError, [r"reshape", r"\(4, 2\)", r"\(2, 3\)"]),
    ("view", lambda: t(2, 3).view(5), ValueError, [r"reshape|view", r"\(5,\)", r"\(2, 3\)"]),
    ("cat_shapes", lambda: gn.cat([t(2, 3), t(2, 4)], dim=0), ValueError,
     [r"cat", r"\(2, 3\)", r"\(2, 4\)"]),
    ("cat_ndim", lambda: gn.cat([t(2, 3), t(2)], dim=0), ValueError,
     [r"cat", r"\(2, 3\)", r"\(2,\)"]),
    ("cat_dim", lambda: gn.cat([t(2, 3), t(2, 3)], dim=2), IndexError, [r"cat", r"\(2, 3\)", "2"]),
    ("stack_shapes", lambda: gn.stack([t(2, 3), t(3, 2)]), ValueError,
     [r"stack", r"\(2, 3\)", r"\(3, 2\)"]),
    ("stack_dim", lambda: gn.stack([t(2, 3), t(2, 3)], dim=3), IndexError,
     [r"stack", r"\(2, 3\)", "dim=3"]),
    ("flatten_order", lambda: t(2, 3, 4).flatten(2, 0), ValueError, [r"flatten", r"\(2, 3, 4\)"]),
    ("sum_dim", lambda: t(2, 3).sum(dim=2), IndexError, [r"sum", r"\(2, 3\)", "dim=2"]),
    ("mean_dim", lambda: t(2, 3).mean(dim=(0, -3)), IndexError, [r"mean", r"\(2, 3\)", "-3"]),
    ("max_dim", lambda: t(2, 3).max(dim=5), IndexError, [r"max", r"\(2, 3\)", "5"]),
    ("max_tuple_dim", lambda: t(2, 3).max(dim=(0, 1)), TypeError, [r"max", r"dim"]),
    ("var_dim", lambda: t(2, 3).var(dim=-4), IndexError, [r"var", r"\(2, 3\)"]),
    ("logsumexp_dim", lambda: t(2, 3).logsumexp(dim=3), IndexError, [r"logsumexp", r"\(2, 3\)"]),
    ("softmax_dim", lambda: t(2, 3).softmax(2), IndexError, [r"softmax", r"\(2, 3\)"]),
    ("log_softmax_dim", lambda: t(2, 3).log_softmax(-3), IndexError,
     [r"log_softmax", r"\(2, 3\)"]),
    ("transpose_dim", lambda: t(2, 3).transpose(0, 2), IndexError, [r"transpose", r"\(2, 3\)"]),
    ("permute_len", lambda: t(2, 3).permute(1, 0, 2), (ValueError, IndexError),
     [r"permute", r"\(2, 3\)"]),
    ("squeeze_dim", lambda: t(2, 1).squeeze(3), IndexError, [r"squeeze", r"\(2, 1\)"]),
    ("unsqueeze_dim", lambda: t(2, 3).unsqueeze(4), IndexError, [r"unsqueeze", r"\(2, 3\)"]),
    ("flatten_dim", lambda: t(2, 3).flatten(3), IndexError, [r"flatten", r"\(2, 3\)"]),
    ("expand", lambda: t(3, 2).expand(3, 4), ValueError, [r"expand", r"\(3, 2\)", r"\(3, 4\)"]),
    ("repeat", lambda: t(2, 3).repeat(2), ValueError, [r"repeat", r"\(2, 3\)"]),
    ("index", lambda: t(3, 4)[5], IndexError, [r"\(3, 4\)", "5"]),
    ("pad", lambda: gn.pad(t(3), (1, 1, 1, 1)), ValueError, [r"pad"]),
    ("pad_reflect_too_big", lambda: gn.pad(t(2, 3), (3, 0), mode="reflect"), ValueError,
     [r"pad", r"reflect", r"\(2, 3\)"]),
    ("item", lambda: t(2).item(), ValueError, [r"item", r"\(2,\)"]),
]


@pytest.mark.parametrize("name,call,exc,patterns", CASES, ids=[c[0] for c in CASES])
def test_error_names_op_and_shapes(name, call, exc, patterns):
    with pytest.raises(exc) as info:
        call()
    msg = str(info.value)
    for p in patterns:
        assert re.search(p, msg), f"{name}: {p!r} not in message {msg!r}"
