"""scaled_dot_product_attention, MultiheadAttention, TransformerEncoder(Layer) against PyTorch
with the same inputs and weights (outputs, weights, every gradient), float64 finite
differences, dropout, and the errors."""
import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from glassnet.nn import functional as F

RNG = np.random.default_rng(7)
pytestmark = pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
TF = torch.nn.functional


def _arr(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def _close(ours, theirs, what, rtol=1e-4, atol=1e-5):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else theirs
    ours = ours.numpy() if hasattr(ours, "numpy") else ours
    assert ours.shape == theirs.shape, (what, ours.shape, theirs.shape)
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=what)


def _leaves(*arrays):
    return ([gn.tensor(a, requires_grad=True) for a in arrays],
            [torch.tensor(a, requires_grad=True) for a in arrays])


# -- scaled_dot_product_attention ----------------------------------------------------------------
SDPA_CASES = [
    dict(),
    dict(scale=0.3),
    dict(is_causal=True),
    dict(mask="bool"),
    dict(mask="float"),
    dict(mask="bool-batched"),
    dict(mask="dead-rows"),
]


def _sdpa_mask(kind, L, S):
    if kind == "bool":
        m = RNG.random((L, S)) > 0.3
        m[:, 0] = True                                   # every row attends somewhere
        return m
    if kind == "float":
        return _arr(L, S)
    if kind == "bool-batched":
        m = RNG.random((2, 1, L, S)) > 0.4
        m[..., 0] = True
        return m
    m = RNG.random((L, S)) > 0.3                          # rows 1 and 3 see no key at all
    m[:, 0] = True
    m[[1, 3]] = False
    return m


@pytest.mark.parametrize("case", SDPA_CASES, ids=[str(c) for c in SDPA_CASES])
@pytest.mark.parametrize("L,S", [(5, 5), (4, 6)])
def test_sdpa_matches_torch(case, L, S):
    q, k, v = _arr(2, 3, L, 8), _arr(2, 3, S, 8), _arr(2, 3, S, 5)
    kw = {key: val for key, val in case.items() if key != "mask"}
    mask = _sdpa_mask(case["mask"], L, S) if "mask" in case else None
    (gq, gk, gv), (tq, tk, tv) = _leaves(q, k, v)
    ours = F.scaled_dot_product_attention(gq, gk, gv, attn_mask=mask, **kw)
    theirs = TF.scaled_dot_product_attention(
        tq, tk, tv, attn_mask=None if mask is None else torch.tensor(mask), **kw)
    _close(ours, theirs, "output")
    up = _arr(*theirs.shape)
    ours.backward(gn.tensor(up))
    theirs.backward(torch.tensor(up))
    for name, a, b in (("query", gq, tq), ("key", gk, tk), ("value", gv, tv)):
        _close(a.grad, b.grad, f"grad {name}")
    if case.get("mask") == "dead-rows":
        assert not ours.numpy()[:, :, [1, 3]].any()        # zero output, not NaN


def test_sdpa_three_dim_inputs_and_a_float_mask_that_learns():
    q, k, v, bias = _arr(4, 5, 6), _arr(4, 7, 6), _arr(4, 7, 3), _arr(5, 7)
    (gq, gk, gv, gb), (tq, tk, tv, tb) = _leaves(q, k, v, bias)
    ours = F.scaled_dot_product_attention(gq, gk, gv, attn_mask=gb)
    theirs = TF.scaled_dot_product_attention(tq, tk, tv, attn_mask=tb)
    _close(ours, theirs, "output")
    (ours * ours).sum().backward()
    (theirs * theirs).sum().backward()
    for name, a, b in (("query", gq, tq), ("key", gk, tk), ("value", gv, tv), ("mask", gb, tb)):
        _close(a.grad, b.grad, f"grad {name}")


def test_sdpa_float64_finite_differences():
    q, k, v = (RNG.standard_normal(s) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3)))
    mask = RNG.standard_normal((3, 5))
    arrays = [q, k, v]
    ts = [gn.tensor(a, requires_grad=True) for a in arrays]
    w = RNG.standard_normal((2, 3, 3))

    def f(*xs):
        out = F.scaled_dot_product_attention(*xs, attn_mask=mask, scale=0.7)
        return (out * gn.tensor(w)).sum()
    f(*ts).backward()
    eps = 1e-6
    for j, a in enumerate(arrays):
        num = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            hi, lo = [x.copy() for x in arrays], [x.copy() for x in arrays]
            hi[j][i] += eps
            lo[j][i] -= eps
            num[i] = (f(*map(gn.tensor, hi)).item() - f(*map(gn.tensor, lo)).item()) / (2 * eps)
        np.testing.assert_allclose(ts[j].grad.numpy(), num, rtol=1e-5, atol=1e-8)


def test_sdpa_dropout_uses_the_generator_and_rescales():
    q, k, v = _arr(2, 4, 8), _arr(2, 6, 8), _arr(2, 6, 3)
    out = F.scaled_dot_product_attention(gn.tensor(q), gn.tensor(k), gn.tensor(v),
                                         dropout_p=0.4, generator=np.random.default_rng(5))
    s = q @ k.transpose(0, 2, 1) / np.sqrt(8)
    w = np.exp(s - s.max(-1, keepdims=True))
    w /= w.sum(-1, keepdims=True)
    keep = np.random.default_rng(5).random(w.shape, dtype=np.float32) >= 0.4
    np.testing.assert_allclose(out.numpy(), (w * keep / 0.6) @ v, rtol=1e-5, atol=1e-6)
    again = F.scaled_dot_product_attention(gn.tensor(q), gn.tensor(k), gn.tensor(v),
                                           dropout_p=0.4, generator=np.random.default_rng(5))
    np.testing.assert_array_equal(out.numpy(), again.numpy())
    zero = F.scaled_dot_product_attention(gn.tensor(q), gn.tensor(k), gn.tensor(v), dropout_p=1)
    assert not zero.numpy().any()


def test_sdpa_errors_name_the_argument():
    q, k = gn.randn(2, 4, 8), gn.randn(2, 6, 8)
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: query \(2, 4, 8\), "
                                         r"key \(2, 6, 8\) and value \(2, 5, 8\) do not fit"):
        F.scaled_dot_product_attention(q, k, gn.randn(2, 5, 8))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention\(is_causal=True\)"):
        F.scaled_dot_product_attention(q, k, k, attn_mask=np.ones((4, 6), bool), is_causal=True)
    with pytest.raises(ValueError, match=r"\(attn_mask\): shape \(3, 6\) does not broadcast"):
        F.scaled_dot_product_attention(q, k, k, attn_mask=np.ones((3, 6), bool))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention\(dropout_p=1\.5\)"):
        F.scaled_dot_product_attention(q, k, k, dropout_p=1.5)
    with pytest.raises(TypeError, match=r"\(attn_mask\): expected a bool or float mask"):
        F.scaled_dot_product_attention(q, k, k, attn_mask=np.ones((4, 6), np.int64))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention\(query\).*int64"):
        F.scaled_dot_product_attention(gn.tensor([[1, 2]]), k, k)


# -- MultiheadAttention --------------------------------------------------------------------------
def _mha_pair(E=8, H=2, **kw):
    theirs = torch.nn.MultiheadAttention(E, H, **kw)
    ours = nn.MultiheadAttention(E, H, **kw)
    ours.load_state_dict(theirs.state_dict())                  # PyTorch's keys and shapes
    return ours, theirs


def _grads_match(ours: nn.Module, theirs: torch.nn.Module):
    t_params = dict(theirs.named_parameters())
    names = [n for n, _ in ours.named_parameters()]
    assert sorted(names) == sorted(t_params)
    for name, p in ours.named_parameters():
        assert p.grad is not None, name
        _close(p.grad, t_params[name].grad, f"grad {name}")


MHA_CASES = [
    dict(),
    dict(batch_first=True),
    dict(bias=False),
    dict(kdim=5, vdim=3, batch_first=True),
    dict(unbatched=True),
    dict(need_weights=False),
    dict(average_attn_weights=False, batch_first=True),
    dict(key_padding_mask="bool"),
    dict(key_padding_mask="float", attn_mask="bool"),
    dict(attn_mask="bool-per-head", batch_first=True),
    dict(attn_mask="float", need_weights=False),
    dict(attn_mask="causal", is_causal=True, batch_first=True),
    dict(key_padding_mask="bool", unbatched=True, need_weights=False),
    dict(self_attention=True, attn_mask="causal", need_weights=False),
]
_MODULE_KEYS = ("batch_first", "bias", "kdim", "vdim")
_CALL_KEYS = ("need_weights", "average_attn_weights", "is_causal")


def _mha_masks(case, N, L, S, H):
    kpm = am = None
    if case.get("key_padding_mask") == "bool":
        kpm = np.zeros((N, S), bool)
        kpm[0, -2:] = True
    elif case.get("key_padding_mask") == "float":
        kpm = _arr(N, S)
    kind = case.get("attn_mask")
    if kind == "bool":
        am = RNG.random((L, S)) > 0.7
        am[:, 0] = False
    elif kind == "bool-per-head":
        am = RNG.random((N * H, L, S)) > 0.7
        am[..., 0] = False
    elif kind == "float":
        am = _arr(L, S)
    elif kind == "causal":
        am = ~np.tril(np.ones((L, S), bool))
    if case.get("unbatched") and kpm is not None:
        kpm = kpm[0]
    return kpm, am


@pytest.mark.parametrize("case", MHA_CASES, ids=[str(c) for c in MHA_CASES])
def test_mha_matches_torch(case):
    E, H, N = 8, 2, 3
    L, S = (5, 5) if case.get("self_attention") or case.get("attn_mask") == "causal" else (4, 6)
    module_kw = {k: case[k] for k in _MODULE_KEYS if k in case}
    call_kw = {k: case[k] for k in _CALL_KEYS if k in case}
    ours, theirs = _mha_pair(E, H, **module_kw)
    kdim, vdim = case.get("kdim", E), case.get("vdim", E)
    bf = case.get("batch_first", False)
    shape = (lambda n, d: (n, d)) if case.get("unbatched") else \
        ((lambda n, d: (N, n, d)) if bf else (lambda n, d: (n, N, d)))
    q = _arr(*shape(L, E))
    k, v = (q, q) if case.get("self_attention") else (_arr(*shape(S, kdim)), _arr(*shape(S, vdim)))
    kpm, am = _mha_masks(case, N, L, S, H)
    (gq, gk, gv), (tq, tk, tv) = _leaves(q, k, v)
    out_g, w_g = ours(gq, gk, gv, key_padding_mask=kpm, attn_mask=am, **call_kw)
    out_t, w_t = theirs(tq, tk, tv, key_padding_mask=None if kpm is None else torch.tensor(kpm),
                        attn_mask=None if am is None else torch.tensor(am), **call_kw)
    _close(out_g, out_t, "output")
    if w_t is None:
        assert w_g is None
    else:
        _close(w_g, w_t, "attention weights")
    up = _arr(*out_t.shape)
    loss_g = (out_g * gn.tensor(up)).sum() + (0 if w_g is None else w_g.sum() * 0.5)
    loss_t = (out_t * torch.tensor(up)).sum() + (0 if w_t is None else w_t.sum() * 0.5)
    loss_g.backward()
    loss_t.backward()
    for name, a, b in (("query", gq, tq), ("key", gk, tk), ("value", gv, tv)):
        _close(a.grad, b.grad, f"grad {name}")
    _grads_match(ours, theirs)


def test_mha_state_dict_goes_to_torch_and_init_is_torchs():
    gn.manual_seed(0)
    ours = nn.MultiheadAttention(12, 3, kdim=4, vdim=6)
    theirs = torch.nn.MultiheadAttention(12, 3, kdim=4, vdim=6)
    sd = ours.state_dict()
    assert {k: v.shape for k, v in sd.items()} == \
        {k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    theirs.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in sd.items()})
    assert not np.asarray(sd["in_proj_bias"]).any() and not np.asarray(sd["out_proj.bias"]).any()
    bound = np.sqrt(6 / (12 + 4))                        # Xavier-uniform, fan (12, 4)
    w = np.asarray(sd["k_proj_weight"])
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    big = nn.MultiheadAttention(64, 4)
    w = np.asarray(big.in_proj_weight.array)
    np.testing.assert_allclose(w.std(), np.sqrt(2 / (64 + 192)), rtol=0.05)


def test_mha_dropout_only_in_training():
    ours, theirs = _mha_pair(8, 2, dropout=0.5, batch_first=True)
    x = gn.tensor(_arr(2, 5, 8))
    gn.manual_seed(1)
    a, _ = ours(x, x, x)
    b, _ = ours(x, x, x)
    assert not np.allclose(a.numpy(), b.numpy())          # a new dropout mask each call
    ours.eval()
    theirs.eval()
    out, w = ours(x, x, x)
    xt = torch.tensor(x.numpy())
    with torch.no_grad():
        out_t, w_t = theirs(xt, xt, xt, need_weights=True)
    _close(out, out_t, "eval output")
    _close(w, w_t, "eval weights")


@pytest.mark.parametrize("make,error,message", [
    (lambda: nn.MultiheadAttention(10, 3), ValueError,
     r"MultiheadAttention\(embed_dim=10, num_heads=3\): embed_dim must be divisible by "
     r"num_heads \(10 % 3 = 1\)"),
    (lambda: nn.MultiheadAttention(0, 1), ValueError, r"MultiheadAttention\(embed_dim=0\)"),
    (lambda: nn.MultiheadAttention(8, 2, dropout=1.5), ValueError,
     r"MultiheadAttention\(dropout=1\.5\)"),
    (lambda: nn.MultiheadAttention(8, 2, add_bias_kv=True), NotImplementedError,
     r"MultiheadAttention\(add_bias_kv=True\)"),
    (lambda: nn.MultiheadAttention(8, 2)(gn.randn(4, 2, 8), gn.randn(4, 2, 5),
                                         gn.randn(4, 2, 8)), ValueError,
     r"MultiheadAttention\(embed_dim=8, kdim=8, vdim=8\): expected key with 8 features, got "
     r"\(4, 2, 5\)"),
    (lambda: nn.MultiheadAttention(8, 2)(gn.randn(4, 2, 8), gn.randn(4, 8), gn.randn(4, 8)),
     ValueError, r"MultiheadAttention: expected query, key and value all 3-D"),
    (lambda: nn.MultiheadAttention(8, 2)(gn.randn(4, 2, 8), gn.randn(4, 3, 8),
                                         gn.randn(4, 3, 8)), ValueError,
     r"MultiheadAttention\(batch_first=False\): query \(4, 2, 8\) and key \(4, 3, 8\) have "
     r"different batch sizes"),
    (lambda: nn.MultiheadAttention(8, 2)(*[gn.randn(4, 2, 8)] * 3,
                                         attn_mask=np.zeros((3, 4), bool)), ValueError,
     r"MultiheadAttention\(attn_mask\): expected shape \(4, 4\) or \(4, 4, 4\)"),
    (lambda: nn.MultiheadAttention(8, 2)(*[gn.randn(4, 2, 8)] * 3,
                                         key_padding_mask=np.zeros((4, 2), bool)), ValueError,
     r"MultiheadAttention\(key_padding_mask\): expected shape \(2, 4\) \(N, S\), got \(4, 2\)"),
])
def test_mha_errors_name_the_layer(make, error, message):
    with pytest.raises(error, match=message):
        make()


# -- TransformerEncoderLayer / TransformerEncoder ------------------------------------------------
TEL_CASES = [
    dict(),
    dict(batch_first=True, activation="gelu"),
    dict(norm_first=True, batch_first=True),
    dict(norm_first=True, activation="gelu", mask=True),
    dict(bias=False, padding=True, batch_first=True),
    dict(unbatched=True, layer_norm_eps=1e-3),
]


def _tel_inputs(case, N=2, L=5, E=8):
    x = _arr(L, E) if case.get("unbatched") else \
        (_arr(N, L, E) if case.get("batch_first") else _arr(L, N, E))
    mask = ~np.tril(np.ones((L, L), bool)) if case.get("mask") else None
    kpm = None
    if case.get("padding"):
        kpm = np.zeros((N, L), bool)
        kpm[1, -2:] = True
    return x, mask, kpm


@pytest.mark.parametrize("case", TEL_CASES, ids=[str(c) for c in TEL_CASES])
def test_encoder_layer_matches_torch(case):
    kw = {k: v for k, v in case.items() if k not in ("mask", "padding", "unbatched")}
    theirs = torch.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **kw)
    ours = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, **kw)
    ours.load_state_dict(theirs.state_dict())
    x, mask, kpm = _tel_inputs(case)
    (gx,), (tx,) = _leaves(x)
    out_g = ours(gx, src_mask=mask, src_key_padding_mask=kpm)
    out_t = theirs(tx, src_mask=None if mask is None else torch.tensor(mask),
                   src_key_padding_mask=None if kpm is None else torch.tensor(kpm))
    _close(out_g, out_t, "output")
    up = _arr(*out_t.shape)
    (out_g * gn.tensor(up)).sum().backward()
    (out_t * torch.tensor(up)).sum().backward()
    _close(gx.grad, tx.grad, "grad src")
    _grads_match(ours, theirs)


def test_encoder_stack_matches_torch_and_layers_are_copies():
    layer_t = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True,
                                               norm_first=True)
    theirs = torch.nn.TransformerEncoder(layer_t, 3, norm=torch.nn.LayerNorm(8),
                                         enable_nested_tensor=False)
    layer_g = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True,
                                         norm_first=True)
    ours = nn.TransformerEncoder(layer_g, 3, norm=nn.LayerNorm(8))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    for copy in ours.layers:                       # deep copies: equal values, own arrays
        assert copy.linear1.weight is not layer_g.linear1.weight
        np.testing.assert_array_equal(copy.linear1.weight.numpy(), layer_g.linear1.weight.numpy())
    ours.load_state_dict(theirs.state_dict())
    ours.eval()
    theirs.eval()                       # dropout off; gradients on (PyTorch's exact path)
    x = _arr(2, 6, 8)
    kpm = np.zeros((2, 6), bool)
    kpm[0, -1] = True
    (gx,), (tx,) = _leaves(x)
    out_g = ours(gx, src_key_padding_mask=kpm)
    out_t = theirs(tx, src_key_padding_mask=torch.tensor(kpm))
    _close(out_g, out_t, "output")
    out_g.sum().backward()
    out_t.sum().backward()
    _close(gx.grad, tx.grad, "grad src")
    _grads_match(ours, theirs)


def test_encoder_layer_trains_in_glassnet():
    """A few optimizer steps on a toy task lower the loss (the whole graph is differentiable,
    dropout included)."""
    gn.manual_seed(0)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, batch_first=True)
    head = nn.Linear(8, 1)
    params = list(layer.parameters()) + list(head.parameters())
    opt = gn.optim.Adam(params, lr=1e-2)
    x = gn.tensor(_arr(4, 6, 8))
    y = gn.tensor(x.numpy().sum(axis=(1, 2))[:, None] / 10)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = F.mse_loss(head(layer(x)).mean(1), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


@pytest.mark.parametrize("make,error,message", [
    (lambda: nn.TransformerEncoderLayer(10, 4), ValueError,
     r"TransformerEncoderLayer\(d_model=10, nhead=4\): d_model must be divisible by nhead"),
    (lambda: nn.TransformerEncoderLayer(8, 2, activation="tanh"), ValueError,
     r"TransformerEncoderLayer\(activation='tanh'\)"),
    (lambda: nn.TransformerEncoderLayer(8, 2, dim_feedforward=0), ValueError,
     r"TransformerEncoderLayer\(dim_feedforward=0\)"),
    (lambda: nn.TransformerEncoderLayer(8, 2, dropout=-0.1), ValueError,
     r"TransformerEncoderLayer\(dropout=-0\.1\)"),
    (lambda: nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2), 0), ValueError,
     r"TransformerEncoder\(num_layers=0\)"),
    (lambda: nn.TransformerEncoder("layer", 2), TypeError, r"TransformerEncoder\(encoder_layer\)"),
])
def test_encoder_errors_name_the_layer(make, error, message):
    with pytest.raises(error, match=message):
        make()
