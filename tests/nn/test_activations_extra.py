"""The activation layers of issue 14 vs their torch.nn twins: values and input gradients on
several shapes (and large inputs that reach the saturating/linear pieces), the repr, and
constructor errors that name the layer and the argument."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn

RNG = np.random.default_rng(14)

PAIRS = [
    ("SiLU", {}), ("Mish", {}), ("ELU", {}), ("ELU", {"alpha": 0.3}), ("CELU", {}),
    ("CELU", {"alpha": 2.0}), ("SELU", {}), ("Softplus", {}),
    ("Softplus", {"beta": 2.0, "threshold": 3.0}), ("LogSigmoid", {}), ("Softsign", {}),
    ("Tanhshrink", {}), ("Hardtanh", {}), ("Hardtanh", {"min_val": -2.0, "max_val": 0.5}),
    ("ReLU6", {}), ("Hardsigmoid", {}), ("Hardswish", {}), ("Softmin", {"dim": 1}),
    ("Softmin", {"dim": -1}), ("Hardshrink", {}), ("Hardshrink", {"lambd": 1.5}),
    ("Softshrink", {}), ("Softshrink", {"lambd": 0.1}), ("PReLU", {}),
    ("PReLU", {"init": -0.3}),
]


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4, 5)])
@pytest.mark.parametrize("name,kwargs", PAIRS, ids=[f"{n}{k or ''}" for n, k in PAIRS])
def test_layer_matches_torch(name, kwargs, shape):
    if name == "Softmin" and len(shape) == 1 and kwargs["dim"] == 1:
        pytest.skip("dim 1 does not exist on a 1-d input")
    x = (RNG.standard_normal(shape) * 4).astype(np.float32)
    glayer, tlayer = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    xg, xt = gn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yg, yt = glayer(xg), tlayer(xt)
    assert yg.dtype == np.float32 and yg.shape == tuple(yt.shape)
    np.testing.assert_allclose(yg.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    up = RNG.standard_normal(yt.shape).astype(np.float32)
    yg.backward(gn.tensor(up))
    yt.backward(torch.tensor(up))
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("name,kwargs", PAIRS, ids=[f"{n}{k or ''}" for n, k in PAIRS])
def test_float64_and_integer_inputs_like_torch(name, kwargs):
    x64 = RNG.standard_normal((3, 4)) * 3
    if name == "PReLU":                      # a float32 weight: float64 input is refused
        with pytest.raises(TypeError, match=r"prelu\(\): input is float64 but weight is "
                                            r"float32"):
            nn.PReLU(**kwargs)(gn.tensor(x64))
        x64 = x64.astype(np.float32)
    y = getattr(nn, name)(**kwargs)(gn.tensor(x64))
    want = getattr(torch.nn, name)(**kwargs)(torch.tensor(x64))
    assert y.dtype == x64.dtype
    np.testing.assert_allclose(y.numpy(), want.detach().numpy(), rtol=1e-6, atol=1e-7)
    xi = np.array([[-4, -1, 0, 2], [5, 7, -3, 3]], np.int64)
    yi = getattr(nn, name)(**kwargs)(gn.tensor(xi))
    try:                                     # Hardtanh/ReLU6 keep integers, as in torch
        want = getattr(torch.nn, name)(**kwargs)(torch.tensor(xi))
    except RuntimeError:                     # the others: torch wants floats, glassnet casts
        want = getattr(torch.nn, name)(**kwargs)(torch.tensor(xi, dtype=torch.float32))
    assert yi.dtype == want.detach().numpy().dtype
    np.testing.assert_allclose(yi.numpy(), want.detach().numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("layer,shape", [
    (dict(name="GLU", kwargs={}), (3, 6)), (dict(name="GLU", kwargs={"dim": 1}), (2, 4, 3)),
    (dict(name="GLU", kwargs={"dim": 0}), (2, 5)),
    (dict(name="PReLU", kwargs={"num_parameters": 3, "init": 0.1}), (2, 3, 4, 5)),
    (dict(name="PReLU", kwargs={"num_parameters": 4}), (5, 4)),
], ids=["glu_last", "glu_dim1", "glu_dim0", "prelu_channels_4d", "prelu_channels_2d"])
def test_glu_and_prelu_match_torch_with_parameter_gradients(layer, shape):
    glayer = getattr(nn, layer["name"])(**layer["kwargs"])
    tlayer = getattr(torch.nn, layer["name"])(**layer["kwargs"])
    x = (RNG.standard_normal(shape) * 2).astype(np.float32)
    xg, xt = gn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yg, yt = glayer(xg), tlayer(xt)
    np.testing.assert_allclose(yg.numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    up = RNG.standard_normal(yt.shape).astype(np.float32)
    yg.backward(gn.tensor(up))
    yt.backward(torch.tensor(up))
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-4, atol=1e-6)
    tparams = dict(tlayer.named_parameters())
    assert sorted(dict(glayer.named_parameters())) == sorted(tparams)
    for name, p in glayer.named_parameters():
        assert p.shape == tuple(tparams[name].shape)
        np.testing.assert_allclose(p.grad.numpy(), tparams[name].grad.numpy(), rtol=1e-4,
                                   atol=1e-5, err_msg=name)


def test_prelu_state_dict_loads_from_torch():
    t = torch.nn.PReLU(3)
    with torch.no_grad():
        t.weight.copy_(torch.tensor([0.1, -0.2, 0.3]))
    g = nn.PReLU(3)
    g.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = RNG.standard_normal((2, 3, 4)).astype(np.float32)
    np.testing.assert_allclose(g(gn.tensor(x)).numpy(), t(torch.tensor(x)).detach().numpy(),
                               rtol=1e-6)


def test_reprs_match_torch_arguments():
    assert repr(nn.ELU(0.5)) == "ELU(alpha=0.5)"
    assert repr(nn.Softplus(2.0, 5.0)) == "Softplus(beta=2.0, threshold=5.0)"
    assert repr(nn.Hardtanh(-2.0, 2.0)) == "Hardtanh(min_val=-2.0, max_val=2.0)"
    assert repr(nn.Softmin(0)) == "Softmin(dim=0)"
    assert repr(nn.ReLU6()) == "ReLU6()" and repr(nn.SiLU()) == "SiLU()"
    assert repr(nn.PReLU(3)) == repr(torch.nn.PReLU(3))
    assert repr(nn.GLU(1)) == repr(torch.nn.GLU(1))
    assert repr(nn.Hardshrink(0.3)) == repr(torch.nn.Hardshrink(0.3))


@pytest.mark.parametrize("make,exc,pattern", [
    (lambda: nn.ELU("1"), TypeError, r"ELU\(alpha='1'\)"),
    (lambda: nn.CELU(0.0), ValueError, r"CELU\(alpha=0\)"),
    (lambda: nn.CELU(float("nan")), ValueError, r"CELU\(alpha=nan\)"),
    (lambda: nn.Softplus(beta=0), ValueError, r"Softplus\(beta=0\)"),
    (lambda: nn.Softplus(threshold=None), TypeError, r"Softplus\(threshold=None\)"),
    (lambda: nn.Hardtanh(1.0, -1.0), ValueError, r"Hardtanh\(min_val=1.0, max_val=-1.0\)"),
    (lambda: nn.Softmin(dim=1.5), TypeError, r"Softmin\(dim=1.5\)"),
    (lambda: nn.Softshrink(-1.0), ValueError, r"Softshrink\(lambd=-1.0\)"),
    (lambda: nn.PReLU(0), ValueError, r"PReLU\(num_parameters=0\)"),
    (lambda: nn.PReLU(2)(gn.tensor(np.zeros((2, 3), np.float32))), ValueError,
     r"prelu\(\): weight has 2 slopes.*\(2, 3\)"),
    (lambda: nn.GLU()(gn.tensor(np.zeros((2, 3), np.float32))), ValueError,
     r"glu\(\): dim=-1 of shape \(2, 3\) has odd size 3"),
], ids=["elu_str", "celu_zero", "celu_nan", "softplus_beta", "softplus_threshold",
        "hardtanh_order", "softmin_dim", "softshrink_lambd", "prelu_zero", "prelu_channels",
        "glu_odd"])
def test_bad_arguments_name_layer_and_argument(make, exc, pattern):
    with pytest.raises(exc, match=pattern):
        make()


def test_softmin_bad_dim_names_the_op():
    with pytest.raises(IndexError, match=r"softmax\(\): dim=2 .*\(3, 4\)"):
        nn.Softmin(2)(gn.tensor(np.zeros((3, 4), np.float32)))


def test_functional_names_match_torch():
    """Every new activation is reachable as F.<name> with torch's keyword arguments."""
    import torch.nn.functional as TF

    import glassnet.nn.functional as F
    x = (RNG.standard_normal((4, 6)) * 3).astype(np.float32)
    calls = [("silu", {}), ("mish", {}), ("elu", {"alpha": 0.7}), ("celu", {"alpha": 1.5}),
             ("selu", {}), ("softplus", {"beta": 0.5, "threshold": 2.0}), ("logsigmoid", {}),
             ("softsign", {}), ("tanhshrink", {}), ("hardtanh", {"min_val": -0.5,
                                                                 "max_val": 2.0}),
             ("relu6", {}), ("hardsigmoid", {}), ("hardswish", {}), ("softmin", {"dim": 0}),
             ("hardshrink", {"lambd": 1.0}), ("softshrink", {"lambd": 0.2}),
             ("glu", {"dim": 1})]
    for name, kw in calls:
        got = getattr(F, name)(gn.tensor(x), **kw)
        want = getattr(TF, name)(torch.tensor(x), **kw)
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=name)
        assert name in F.__all__ and name in gn.__all__


@pytest.mark.parametrize("name,args", [
    ("ReLU", ()), ("LeakyReLU", (0.1,)), ("Threshold", (0.1, 2.0)), ("SiLU", ()), ("Mish", ()),
    ("ELU", (0.5,)), ("CELU", (2.0,)), ("SELU", ()), ("Hardtanh", (-2.0, 2.0)), ("ReLU6", ()),
    ("Hardsigmoid", ()), ("Hardswish", ()),
])
def test_inplace_flag_is_accepted_like_torch(name, args):
    """nn.ReLU(inplace=True) as in model code: same repr and values as PyTorch; glassnet
    returns a new tensor and leaves the input as it was."""
    g, t = getattr(nn, name)(*args, inplace=True), getattr(torch.nn, name)(*args, inplace=True)
    assert repr(g) == repr(t)
    assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))
    x = (RNG.standard_normal((3, 4)) * 3).astype(np.float32)
    xg = gn.tensor(x)
    y = g(xg)
    np.testing.assert_allclose(y.numpy(), t(torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(xg.numpy(), x)
    with pytest.raises(TypeError, match=rf"{name}\(inplace='yes'\)"):
        getattr(nn, name)(*args, inplace="yes")


@pytest.mark.parametrize("name,kwargs", [
    ("relu", {}), ("leaky_relu", {"negative_slope": 0.2}), ("threshold",
                                                          {"threshold": 0.1, "value": 2.0}),
    ("silu", {}), ("mish", {}), ("elu", {"alpha": 0.5}), ("celu", {"alpha": 2.0}), ("selu", {}),
    ("hardtanh", {"min_val": -0.5, "max_val": 0.5}), ("relu6", {}), ("hardsigmoid", {}),
    ("hardswish", {}),
])
def test_functional_inplace_keyword(name, kwargs):
    import torch.nn.functional as TF

    import glassnet.nn.functional as F
    x = (RNG.standard_normal((3, 4)) * 4).astype(np.float32)
    xg = gn.tensor(x)
    got = getattr(F, name)(xg, inplace=True, **kwargs)
    want = getattr(TF, name)(torch.tensor(x), inplace=True, **kwargs)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(xg.numpy(), x)
