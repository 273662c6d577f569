"""Attention, the transformer encoder, the new losses (with target gradients), Adagrad and
NAdam on every device, against PyTorch."""
import numpy as np
import pytest
import torch

from _devhelpers import check_module, check_op, check_optimizer, on, rand
from glassnet import nn


def _mask(L):
    return torch.tensor if L is torch else np.asarray


LOSSES = [      # fn(lib, input, target): every float argument gets a gradient
    ("huber", lambda L, x, y: L.nn.functional.huber_loss(x, y, delta=0.7), "float"),
    ("smooth_l1", lambda L, x, y: L.nn.functional.smooth_l1_loss(x, y, beta=0.5), "float"),
    ("kl_div", lambda L, x, y: L.nn.functional.kl_div(x.log_softmax(1), y,
                                                       reduction="batchmean"), "probs"),
    ("kl_div_log_target", lambda L, x, y: L.nn.functional.kl_div(
        x.log_softmax(1), y.log_softmax(1), reduction="sum", log_target=True), "float"),
    ("bce_target", lambda L, x, y: L.nn.functional.binary_cross_entropy(x.sigmoid(), y), "unit"),
    ("bce_logits_target", lambda L, x, y: L.nn.functional.binary_cross_entropy_with_logits(
        x, y, pos_weight=_mask(L)(np.array([1.0, 2.0, 3.0, 0.5], np.float32))), "unit"),
    ("cross_entropy_probs_target", lambda L, x, y: L.nn.functional.cross_entropy(
        x, y, label_smoothing=0.1), "probs"),
]


@pytest.mark.parametrize("loss", LOSSES, ids=[x[0] for x in LOSSES])
def test_loss_and_target_gradient_on_device(device, loss):
    _, fn, kind = loss
    y = {"float": rand(6, 4), "unit": np.random.default_rng(0).random((6, 4)).astype(np.float32),
         "probs": np.random.default_rng(1).dirichlet(np.ones(4), 6).astype(np.float32)}[kind]
    if device != "cpu":          # pos_weight is a host array: give glassnet one on the device
        def fn(L, x, t, _fn=fn):
            if L is torch or "pos_weight" not in loss[0]:
                return _fn(L, x, t)
            return L.nn.functional.binary_cross_entropy_with_logits(
                x, t, pos_weight=on(device, np.array([1.0, 2.0, 3.0, 0.5], np.float32)))
    check_op(device, fn, rand(6, 4), y, atol=1e-5, rtol=1e-4)


def _sdpa(kind):
    def fn(L, q, k, v):
        F = L.nn.functional
        if kind == "causal":
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        m = np.ones((4, 6), bool)
        m[1] = False                                   # a query that sees no key: zero row
        m[2, 3:] = False
        return F.scaled_dot_product_attention(q, k, v, attn_mask=_mask(L)(m), scale=0.4)
    return fn


@pytest.mark.parametrize("kind", ["causal", "bool_mask"])
def test_sdpa_on_device(device, kind):
    check_op(device, _sdpa(kind), rand(2, 3, 4, 8), rand(2, 3, 6, 8), rand(2, 3, 6, 5),
             atol=1e-5, rtol=1e-4)


def test_multihead_attention_on_device(device):
    kpm = np.zeros((2, 6), bool)
    kpm[1, -2:] = True

    def call(m, xs, L):
        return m(*xs, key_padding_mask=_mask(L)(kpm), need_weights=False)[0]
    check_module(device, nn.MultiheadAttention(8, 2, kdim=5, vdim=3, batch_first=True),
                      torch.nn.MultiheadAttention(8, 2, kdim=5, vdim=3, batch_first=True),
                      [rand(2, 4, 8), rand(2, 6, 5), rand(2, 6, 3)], call)


def test_multihead_attention_weights_on_device(device):
    def call(m, xs, L):
        out, w = m(*xs, attn_mask=_mask(L)(~np.tril(np.ones((5, 5), bool))))
        return out.sum(-1, keepdim=True) + w              # (N, L, 1) + (N, L, S)
    check_module(device, nn.MultiheadAttention(8, 2, batch_first=True),
                      torch.nn.MultiheadAttention(8, 2, batch_first=True),
                      [rand(2, 5, 8)] * 3, call)


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_layer_on_device(device, norm_first):
    kw = dict(dim_feedforward=16, dropout=0.0, batch_first=True, norm_first=norm_first,
              activation="gelu")

    def call(m, xs, L):
        return m(xs[0], src_mask=_mask(L)(~np.tril(np.ones((5, 5), bool))))
    check_module(device, nn.TransformerEncoderLayer(8, 2, **kw),
                      torch.nn.TransformerEncoderLayer(8, 2, **kw), [rand(3, 5, 8)], call)


OPTIMIZERS = [
    ("adagrad", lambda L, p: L.optim.Adagrad(p, lr=0.1, lr_decay=0.01, weight_decay=0.1,
                                             initial_accumulator_value=0.1)),
    ("nadam", lambda L, p: L.optim.NAdam(p, lr=0.01, weight_decay=0.1)),
    ("nadamw", lambda L, p: L.optim.NAdam(p, lr=0.01, weight_decay=0.1,
                                          decoupled_weight_decay=True)),
]


@pytest.mark.parametrize("opt", OPTIMIZERS, ids=[x[0] for x in OPTIMIZERS])
def test_optimizer_matches_torch_on_device(device, opt):
    check_optimizer(device, opt[1], steps=4)
