"""In-place operators and methods against PyTorch: values, identity, version counters,
gradients through in-place changes, and PyTorch's two in-place errors."""
import numpy as np
import pytest
import torch

import glassnet as gn

RNG = np.random.default_rng(0)
A = RNG.standard_normal((3, 4)).astype(np.float32)
B = RNG.standard_normal((3, 4)).astype(np.float32)
ROW = RNG.standard_normal(4).astype(np.float32)

# (name, function applied to (tensor, other, module)); the same code runs on both frameworks
CASES = [
    ("add_", lambda t, o, m: t.add_(o)),
    ("add_alpha", lambda t, o, m: t.add_(o, alpha=0.5)),
    ("sub_alpha", lambda t, o, m: t.sub_(o, alpha=2.0)),
    ("mul_", lambda t, o, m: t.mul_(o)),
    ("div_", lambda t, o, m: t.div_(o)),
    ("pow_", lambda t, o, m: t.abs_().pow_(1.5)),
    ("clamp_", lambda t, o, m: t.clamp_(-0.5, 0.7)),
    ("clamp_min", lambda t, o, m: t.clamp_(min=0.1)),
    ("zero_", lambda t, o, m: t.zero_()),
    ("fill_", lambda t, o, m: t.fill_(2.5)),
    ("copy_row", lambda t, o, m: t.copy_(m.tensor(ROW))),
    ("neg_", lambda t, o, m: t.neg_()),
    ("relu_", lambda t, o, m: t.relu_()),
    ("sigmoid_", lambda t, o, m: t.sigmoid_()),
    ("tanh_", lambda t, o, m: t.tanh_()),
    ("exp_", lambda t, o, m: t.exp_()),
    ("iadd", lambda t, o, m: t.__iadd__(o)),
    ("isub_scalar", lambda t, o, m: t.__isub__(3.0)),
    ("imul_row", lambda t, o, m: t.__imul__(m.tensor(ROW))),
    ("itruediv", lambda t, o, m: t.__itruediv__(o)),
    ("chain", lambda t, o, m: t.mul_(2).add_(o).clamp_(max=1.0)),
]


@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_inplace_matches_torch(name, fn):
    g, t = gn.tensor(A), torch.tensor(A)
    rg, rt = fn(g, gn.tensor(B), gn), fn(t, torch.tensor(B), torch)
    assert rg is g and rt is t                                  # the same object comes back
    np.testing.assert_allclose(g.numpy(), t.numpy(), rtol=1e-6, atol=1e-6)
    assert g._version == t._version                  # one bump per in-place op, like torch
    assert g.dtype == np.float32


def test_operators_keep_the_object_and_share_memory():
    g = gn.tensor(A)
    arr, ident = g.array, id(g)
    g += 1
    g *= 2
    g -= gn.tensor(B)
    g /= 4
    assert id(g) == ident and g.array is arr          # written into the same array
    np.testing.assert_allclose(arr, ((A + 1) * 2 - B) / 4, rtol=1e-6)
    view = gn.tensor(A)
    alias = view.detach()                            # shares memory: sees the change
    view.zero_()
    assert not alias.numpy().any()


def test_setitem_values_and_version():
    g, t = gn.tensor(A), torch.tensor(A)
    for obj, m in ((g, gn), (t, torch)):
        obj[0] = 5.0
        obj[1:, 2] = m.tensor([7.0, 8.0])
        obj[obj < -0.5] = 0.0
    assert g._version == t._version == 3
    for obj in (g, t):
        obj[:, 0] += 1           # torch: the view and the base share one counter (+2 here)
    np.testing.assert_allclose(g.numpy(), t.numpy())


def test_leaf_requiring_grad_raises_like_torch():
    for m in (gn, torch):
        w = m.tensor(A.copy(), requires_grad=True)
        with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being "
                                               "used in an in-place operation."):
            w += 1
        with pytest.raises(RuntimeError, match="leaf Variable"):
            w.zero_()
        with pytest.raises(RuntimeError, match="leaf Variable"):
            w[0] = 1.0


def test_update_rule_under_no_grad_keeps_the_leaf():
    """The course's rule, `with no_grad(): w -= lr * w.grad`, as in PyTorch."""
    res = {}
    for m in (gn, torch):
        w = m.tensor(A.copy(), requires_grad=True)
        x = m.tensor(B)
        ident = id(w)
        for _ in range(3):
            loss = ((w * x).sum() - 1.0) ** 2
            loss.backward()
            with m.no_grad():
                w -= 0.01 * w.grad
                w.grad.zero_()
        assert id(w) == ident and w.requires_grad and w.is_leaf and w.grad_fn is None
        res[m.__name__] = w.detach().numpy().copy()
    np.testing.assert_allclose(res["glassnet"], res["torch"], rtol=1e-5, atol=1e-6)


def _graph(m, x, w):
    """In-place changes to tensors inside the graph; the same code for both frameworks."""
    y = x * 2                    # non-leaf
    z = y + 1                    # uses y before the change (add saves nothing)
    y.mul_(w)                    # y is now 2x·w
    y.add_(z, alpha=0.5)
    y.relu_()
    u = y.clone()
    u[0] = w[0] * 3              # setitem with a value that requires grad
    u[1:, :2] = 0.5
    buf = m.zeros(3, 4)          # a constant turned into a node by +=
    buf += u * u
    return (buf.sum() + z.sum() * 0.1 + u.tanh().sum())


def test_gradients_through_inplace_match_torch():
    grads = {}
    for m in (gn, torch):
        x = m.tensor(A, requires_grad=True)
        w = m.tensor(B, requires_grad=True)
        loss = _graph(m, x, w)
        loss.backward()
        grads[m.__name__] = (float(loss.item()), x.grad.numpy().copy(), w.grad.numpy().copy())
    g, t = grads["glassnet"], grads["torch"]
    assert g[0] == pytest.approx(t[0], rel=1e-5)
    np.testing.assert_allclose(g[1], t[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g[2], t[2], rtol=1e-5, atol=1e-6)


def test_inplace_result_is_a_node():
    for m in (gn, torch):
        x = m.tensor(A, requires_grad=True)
        y = x * 1.0
        y += 1
        assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
        c = m.zeros(3, 4)
        c += x
        assert c.requires_grad and not c.is_leaf


MODIFIED = "one of the variables needed for gradient computation has been modified by an " \
           "inplace operation"


@pytest.mark.parametrize("case", ["mul_input", "matmul_input", "pow_input", "div_input",
                                  "sigmoid_output_no_grad", "exp_output_no_grad",
                                  "constant_input", "tanh_output_no_grad"])
def test_modified_saved_tensor_raises_like_torch(case):
    for m in (gn, torch):
        x = m.tensor(A, requires_grad=True)
        a = x * 2
        if case == "mul_input":
            out = a * a
            a.add_(1)
        elif case == "matmul_input":
            out = a @ m.tensor(B.T.copy(), requires_grad=True)
            a.mul_(3)
        elif case == "pow_input":
            out = a ** 3
            a[0, 0] = 1.0
        elif case == "div_input":
            out = m.tensor(B) / a
            a.sub_(1)
        elif case == "constant_input":          # a saved tensor that needs no grad
            c = m.tensor(B)
            out = x * c
            c.mul_(2)
        else:
            op = {"sigmoid_output_no_grad": "sigmoid", "exp_output_no_grad": "exp",
                  "tanh_output_no_grad": "tanh"}[case]
            out = getattr(a, op)()
            with m.no_grad():
                out.mul_(2)
        with pytest.raises(RuntimeError, match=MODIFIED):
            out.sum().backward()


@pytest.mark.parametrize("case", ["add", "relu", "sum", "expand"])
def test_inputs_not_saved_may_change(case):
    """Ops whose backward does not read the input: the change is allowed, as in torch.
    (Views are not compared: in torch a view follows its base's in-place change, here a view
    keeps the value it had; see docs/autograd.md.)"""
    res = {}
    for m in (gn, torch):
        x = m.tensor(A, requires_grad=True)
        a = x * 2
        out = {"add": lambda a: a + 1, "expand": lambda a: a.sum(0).expand(2, 4),
               "relu": lambda a: a.relu(), "sum": lambda a: a.sum()}[case](a)
        a.mul_(m.tensor(B))
        (out.sum() + a.sum()).backward()
        res[m.__name__] = x.grad.numpy().copy()
    np.testing.assert_allclose(res["glassnet"], res["torch"], rtol=1e-6)


def test_inplace_errors_name_the_method():
    i = gn.tensor([1, 2, 3])
    with pytest.raises(RuntimeError, match="div_.*can't be cast"):
        i /= 2
    with pytest.raises(RuntimeError, match="add_.*doesn't match the broadcast shape"):
        gn.tensor(ROW).add_(gn.tensor(A))
    with pytest.raises(RuntimeError, match="copy_"):
        gn.tensor(A).copy_(gn.tensor([1.0, 2.0]))
    i += 2                                        # int stays int
    assert i.tolist() == [3, 4, 5] and i.dtype == np.int64


def test_normal_and_uniform_fill_in_place():
    w = gn.zeros(200, 50)
    arr = w.array
    gen = np.random.default_rng(3)
    assert w.normal_(1.0, 0.5, generator=gen) is w and w.array is arr
    assert abs(w.array.mean() - 1.0) < 0.02 and abs(w.array.std() - 0.5) < 0.02
    w.uniform_(-2, 3)
    assert w.array.min() >= -2 and w.array.max() < 3 and w.dtype == np.float32
    p = gn.nn.Linear(3, 2).weight
    with pytest.raises(RuntimeError, match="leaf Variable"):
        p.normal_()
    with gn.no_grad():
        p.normal_()
    assert p.requires_grad and p.is_leaf


def test_data_attribute_idioms():
    """`.data` is the NumPy array (see docs/autograd.md): `p.array -= ...` updates in place."""
    p = gn.tensor(A.copy(), requires_grad=True)
    (p * p).sum().backward()
    p.array -= 0.1 * p.grad.array
    np.testing.assert_allclose(p.numpy(), A - 0.2 * A, rtol=1e-6)
    p.detach().sub_(p.grad * 0.1)                 # the Tensor-method spelling
    np.testing.assert_allclose(p.numpy(), A - 0.4 * A, rtol=1e-6)
    assert p.requires_grad and p.is_leaf


def test_first_inplace_change_of_the_process_is_checked():
    """Before any in-place change, make() records no versions (all are 0); the first change
    must still be caught. Run in a fresh process, where no in-place op has happened yet."""
    import subprocess
    import sys
    code = ("import sys\nimport glassnet as gn\nT = sys.modules['glassnet.tensor']\n"
            "assert not T._inplace_seen\n"
            "x = gn.tensor([1.0, 2.0], requires_grad=True)\n"
            "a = x * 2\n"
            "b = a * a\n"
            "c = a + 1\n"
            "assert b._vers is None\n"
            "a.add_(1)\n"
            "assert T._inplace_seen\n"
            "c.sum().backward()\n"
            "assert x.grad.tolist() == [2.0, 2.0]\n"
            "try:\n"
            "    b.sum().backward()\n"
            "except RuntimeError as e:\n"
            "    assert 'modified by an inplace operation' in str(e)\n"
            "    print('raised')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "raised"


def test_inplace_graph_on_each_device(device):
    """The same in-place graph on cpu / fake / cuda gives torch's gradients."""
    res = {}
    for m in (gn, torch):
        dev = {"device": device} if m is gn else {}
        x = m.tensor(A, requires_grad=True, **dev)
        w = m.tensor(B, **dev)
        y = x * 2
        y.add_(w)
        y.mul_(w)
        y[0] = 1.0
        y.relu_()
        z = m.zeros(3, 4)
        if m is gn:
            z = z.to(device)
        z += y
        z.clamp_(max=3.0)
        h = x.register_hook(lambda g: g * 2)
        z.sum().backward()
        h.remove()
        (gx,) = m.autograd.grad((x * w).sum(), x)
        res[m.__name__] = (x.grad.numpy(), gx.numpy())
        if m is gn:
            assert x.grad.device == gx.device == device
    for a, b in zip(res["glassnet"], res["torch"]):
        np.testing.assert_allclose(a, b, rtol=1e-6)
