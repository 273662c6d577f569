"""Adapter: tinygrad's layer constructors over glassnet's ``nn`` modules (our own code).

A layer holds one glassnet module; its parameters are read as adapter tensors sharing the
glassnet ``Parameter`` (so ``.grad`` is glassnet's), and ``layer.weight = t`` copies ``t``
into that parameter. Norm layers whose tinygrad class covers several PyTorch classes
(``BatchNorm``, ``InstanceNorm``) call glassnet's functional form with the held parameters.
"""
import numpy as np

import glassnet as gn
import glassnet.nn.functional as F

from ..tensor import Tensor, skip


class _Layer:
    def __init__(self, module):
        object.__setattr__(self, "m", module)

    def __getattr__(self, name):
        v = getattr(self.m, name)
        return Tensor(v) if isinstance(v, gn.Tensor) else v

    def __setattr__(self, name, value):
        cur = getattr(self.m, name, None)
        if value is None or not isinstance(cur, gn.Tensor):
            setattr(self.m, name, value.t if isinstance(value, Tensor) else value)
            return
        arr = value.t.array if isinstance(value, Tensor) else np.asarray(value)
        cur.array[...] = arr.reshape(cur.shape)  # in place: the parameter (and its grad) stays

    def __call__(self, *args):
        return self.forward(*(a.t if isinstance(a, Tensor) else a for a in args))

    def forward(self, x):
        return Tensor(self.m(x))


def Linear(in_features, out_features, bias=True):  # noqa: N802
    return _Layer(gn.nn.Linear(in_features, out_features, bias=bias))


def Embedding(vocab_size, embed_size):  # noqa: N802
    class _Emb(_Layer):
        def forward(self, x):
            return Tensor(self.m(x.to(np.int64)))
    return _Emb(gn.nn.Embedding(vocab_size, embed_size))


def _conv(cls):
    def make(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1,
             groups=1, bias=True, **kw):
        return _Layer(cls(in_channels, out_channels, kernel_size, stride=stride,
                          padding=padding, dilation=dilation, groups=groups, bias=bias, **kw))
    return make


Conv1d = _conv(gn.nn.Conv1d)
Conv2d = _conv(gn.nn.Conv2d)
ConvTranspose1d = _conv(gn.nn.ConvTranspose1d)
ConvTranspose2d = _conv(gn.nn.ConvTranspose2d)


def LayerNorm(normalized_shape, eps=1e-5, elementwise_affine=True):  # noqa: N802
    return _Layer(gn.nn.LayerNorm(normalized_shape, eps=eps,
                                  elementwise_affine=elementwise_affine))


def LayerNorm2d(*a, **k):  # noqa: N802
    skip("LayerNorm2d (channels of NCHW; no PyTorch class)")


def GroupNorm(num_groups, num_channels, eps=1e-5, affine=True):  # noqa: N802
    return _Layer(gn.nn.GroupNorm(num_groups, num_channels, eps=eps, affine=affine))


def RMSNorm(dim, eps=1e-6, elementwise_affine=True):  # noqa: N802  (tinygrad's eps 1e-6)
    return _Layer(gn.nn.RMSNorm(dim, eps=eps, elementwise_affine=elementwise_affine))


class InstanceNorm(_Layer):
    def __init__(self, num_features, eps=1e-5, affine=True):
        super().__init__(gn.nn.InstanceNorm2d(num_features, eps=eps, affine=affine))

    def forward(self, x):
        return Tensor(F.instance_norm(x, weight=self.m.weight, bias=self.m.bias, eps=self.m.eps))


class BatchNorm(_Layer):
    def __init__(self, sz, eps=1e-5, affine=True, track_running_stats=True, momentum=0.1):
        super().__init__(gn.nn.BatchNorm2d(sz, eps=eps, affine=affine, momentum=momentum,
                                           track_running_stats=track_running_stats))

    def forward(self, x):
        m = self.m
        training = Tensor.training or m.running_mean is None
        return Tensor(F.batch_norm(x, m.running_mean, m.running_var, m.weight, m.bias,
                                   training=training, momentum=m.momentum, eps=m.eps))


BatchNorm2d = BatchNorm3d = BatchNorm


class LSTMCell(_Layer):
    def __init__(self, input_size, hidden_size, bias=True):
        super().__init__(gn.nn.LSTMCell(input_size, hidden_size, bias=bias))

    def forward(self, x, hc=None):
        if hc is not None:
            hc = tuple(t.t if isinstance(t, Tensor) else t for t in hc)
        h, c = self.m(x, hc)
        return Tensor(h), Tensor(c)
