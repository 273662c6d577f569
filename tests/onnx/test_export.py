"""gn.onnx.export: every exported file runs in onnxruntime and gives glassnet's outputs.

Each test exports a model traced on one batch size, runs the file in onnxruntime (CPU) on a
*different* batch size and compares every output with glassnet's forward on that batch
(float32, rtol = atol = 1e-5). Unsupported layers and ops must raise an error naming them.
"""
import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.nn import functional as F

onnx = pytest.importorskip("onnx", reason="gn.onnx.export needs the onnx package "
                           "(pip install 'glassnet[onnx]')")
ort = pytest.importorskip("onnxruntime", reason="running exported files needs onnxruntime")

TOL = dict(rtol=1e-5, atol=1e-5)


def _flat(out):
    if isinstance(out, gn.Tensor):
        return [out.array]
    return [a for o in out for a in _flat(o)]


def roundtrip(model, example, inputs, tmp_path, tol=TOL, **kw):
    """Export on ``example``, run on ``inputs`` (arrays) in onnxruntime, compare; returns the
    onnxruntime session."""
    path = gn.onnx.export(model, example, tmp_path / "model.onnx", **kw)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    inputs = inputs if isinstance(inputs, tuple) else (inputs,)
    got = sess.run(None, {i.name: x for i, x in zip(sess.get_inputs(), inputs)})
    model.eval()
    with gn.no_grad():
        want = _flat(model(*[gn.tensor(x) for x in inputs]))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, **tol)
    return sess


def randn(*shape, scale=1.0):
    return (np.random.default_rng(sum(shape)).standard_normal(shape) * scale).astype(np.float32)


# -- MLPs ------------------------------------------------------------------------------------
ACTIVATIONS = [
    nn.ReLU(), nn.Sigmoid(), nn.Tanh(), nn.LeakyReLU(0.2), nn.GELU(), nn.GELU("tanh"),
    nn.SiLU(), nn.ELU(0.7), nn.CELU(1.3), nn.SELU(), nn.Softplus(2.0, 3.0), nn.LogSigmoid(),
    nn.Softsign(), nn.Tanhshrink(), nn.Hardtanh(-0.5, 0.7), nn.ReLU6(), nn.Hardsigmoid(),
    nn.Hardswish(), nn.Mish(), nn.Threshold(0.1, -2.0), nn.Softmax(1), nn.LogSoftmax(1),
    nn.Softmin(-1), nn.Identity(),
]


@pytest.mark.parametrize("act", ACTIVATIONS, ids=lambda m: type(m).__name__)
def test_mlp_with_each_activation(act, tmp_path):
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 16), act, nn.Linear(16, 3))
    roundtrip(model, gn.randn(4, 5), randn(7, 5, scale=4.0), tmp_path)


def test_mlp_output_names_shapes_and_weights(tmp_path):
    gn.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(8, 2), nn.LogSoftmax(dim=1))
    model.train()
    gn.onnx.export(model, gn.randn(3, 3, 4), tmp_path / "model.onnx")
    assert model.training and model[3].training          # the training flag is restored
    sess = roundtrip(model, gn.randn(3, 3, 4), randn(9, 3, 4), tmp_path,
                     input_names=["pixels"], output_names=["log_probs"])
    (inp,), (out,) = sess.get_inputs(), sess.get_outputs()
    assert (inp.name, inp.shape) == ("pixels", ["batch", 3, 4])
    assert (out.name, out.shape) == ("log_probs", ["batch", 2])
    proto = onnx.load(str(tmp_path / "model.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    weights = {w.name: onnx.numpy_helper.to_array(w) for w in proto.graph.initializer}
    np.testing.assert_array_equal(weights["1.weight"], model[1].weight.array)
    assert proto.opset_import[0].version == 17


def test_fixed_batch_and_opset_18(tmp_path):
    gn.manual_seed(2)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh())
    sess = roundtrip(model, gn.randn(1, 3), randn(1, 3), tmp_path, dynamic_batch=False,
                     opset_version=18)
    assert sess.get_inputs()[0].shape == [1, 3]


# -- CNNs ------------------------------------------------------------------------------------
def _randomize_batch_norm(model):
    rng = np.random.default_rng(0)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)):
            C = m.num_features
            m.running_mean.array[...] = rng.standard_normal(C)
            m.running_var.array[...] = rng.uniform(0.5, 2.0, C)
            m.weight.array[...] = rng.uniform(0.5, 1.5, C)
            m.bias.array[...] = rng.standard_normal(C)


def test_cnn_conv_pool_batchnorm_dropout(tmp_path):
    gn.manual_seed(3)
    model = nn.Sequential(
        nn.Conv2d(2, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 8, 3, stride=2, padding=2, dilation=2, groups=4, bias=False),
        nn.BatchNorm2d(8), nn.LeakyReLU(0.1), nn.Dropout2d(0.3),
        nn.AvgPool2d(2, stride=1, padding=1), nn.Conv2d(8, 6, 1, padding="same"),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Dropout(0.2), nn.Linear(24, 5))
    _randomize_batch_norm(model)
    roundtrip(model, gn.randn(2, 2, 12, 12), randn(5, 2, 12, 12), tmp_path, verify=True)


def test_cnn_padding_modes_pooling_and_upsampling(tmp_path):
    gn.manual_seed(4)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1, padding_mode="reflect"), nn.MaxPool2d(3, 2, 1),
        nn.Conv2d(4, 4, 3, padding="same", padding_mode="replicate"),
        nn.Upsample(scale_factor=2), nn.ConvTranspose2d(4, 3, 3, stride=2, padding=1,
                                                        output_padding=1),
        nn.AvgPool2d(2, count_include_pad=False), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Softmax(1))
    roundtrip(model, gn.randn(2, 1, 8, 8), randn(3, 1, 8, 8), tmp_path)


def test_conv1d_batchnorm1d(tmp_path):
    gn.manual_seed(5)
    model = nn.Sequential(nn.Conv1d(3, 6, 5, stride=2, padding=2), nn.BatchNorm1d(6),
                          nn.GELU(), nn.MaxPool1d(2), nn.Conv1d(6, 6, 3, groups=3),
                          nn.AvgPool1d(2), nn.Flatten(), nn.Linear(6, 4), nn.BatchNorm1d(4))
    _randomize_batch_norm(model)
    roundtrip(model, gn.randn(2, 3, 20), randn(6, 3, 20), tmp_path)


def test_volumes_and_transposed_1d(tmp_path):
    gn.manual_seed(18)
    model = nn.Sequential(nn.Conv3d(2, 4, 3, padding=1), nn.BatchNorm3d(4), nn.ReLU(),
                          nn.MaxPool3d(2), nn.AvgPool3d(2), nn.Flatten(2),
                          nn.ConvTranspose1d(4, 3, 3, stride=2, padding=1),
                          nn.Upsample(scale_factor=2, mode="linear"))
    _randomize_batch_norm(model)
    roundtrip(model, gn.randn(2, 2, 4, 8, 8), randn(3, 2, 4, 8, 8), tmp_path, verify=True)


def test_upsample_bilinear_and_layer_norm(tmp_path):
    gn.manual_seed(6)
    model = nn.Sequential(nn.Upsample(scale_factor=2, mode="bilinear"),
                          nn.Upsample(size=(10, 10), mode="bilinear", align_corners=True),
                          nn.LayerNorm([10, 10]))
    rng = np.random.default_rng(1)
    model[2].weight.array[...] = rng.uniform(0.5, 1.5, (10, 10))
    model[2].bias.array[...] = rng.standard_normal((10, 10))
    roundtrip(model, gn.randn(2, 3, 4, 4), randn(4, 3, 4, 4), tmp_path)


# -- recurrent layers --------------------------------------------------------------------------
@pytest.mark.parametrize("layer", ["RNN", "RNN_relu", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("bidirectional,num_layers", [(False, 1), (True, 2), (False, 2),
                                                      (True, 1)])
def test_recurrent_outputs_and_final_states(layer, batch_first, bidirectional, num_layers,
                                            tmp_path):
    gn.manual_seed(7)
    kw = dict(num_layers=num_layers, batch_first=batch_first, bidirectional=bidirectional)
    if layer == "RNN_relu":
        model = nn.RNN(4, 6, nonlinearity="relu", **kw)
    else:
        model = getattr(nn, layer)(4, 6, **kw)
    L = 5
    shape = (lambda n: (n, L, 4)) if batch_first else (lambda n: (L, n, 4))
    roundtrip(model, gn.randn(*shape(2)), randn(*shape(7)), tmp_path,
              batch_axis=0 if batch_first else 1)


class Tagger(nn.Module):
    """Embedding → LSTM → Linear, the logits of the last step."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(11, 8)
        self.lstm = nn.LSTM(8, 10, batch_first=True, bidirectional=True)
        self.head = nn.Linear(20, 3)

    def forward(self, ids):
        out, (h, c) = self.lstm(self.emb(ids))
        return self.head(out[:, -1]), h


def test_embedding_lstm_linear(tmp_path):
    gn.manual_seed(8)
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 11, (6, 7))
    sess = roundtrip(Tagger(), gn.tensor(ids[:2]), ids, tmp_path, verify=True)
    assert sess.get_inputs()[0].type == "tensor(int64)"


class Seq2One(nn.Module):
    """A GRU over a learned initial state passed in, plus glue ops in forward."""

    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(3, 4, num_layers=2)
        self.fc = nn.Linear(8, 2)

    def forward(self, x, h0):
        out, h = self.gru(x, h0)                      # time-major: (L, N, 4), (2, N, 4)
        pooled = out.mean(0)                          # (N, 4)
        last = h.permute(1, 0, 2).reshape(h.shape[1], -1)     # (N, 8)
        return F.softmax(self.fc(last) + pooled.sum(1, keepdim=True), dim=-1)


@pytest.mark.parametrize("opset", [17, 18, 21])
def test_recurrent_with_initial_state_and_two_inputs(opset, tmp_path):
    gn.manual_seed(9)
    example = (gn.randn(5, 2, 3), gn.randn(2, 2, 4))
    roundtrip(Seq2One(), example, (randn(5, 6, 3), randn(2, 6, 4)), tmp_path, batch_axis=1,
              opset_version=opset, verify=True)


class GivenH(nn.Module):
    """LSTM with h_0 from an input and c_0 of zeros made in forward; layers without bias;
    a GRU with a learned initial state."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(3, 4, num_layers=2, bias=False, batch_first=True)
        self.gru = nn.GRU(4, 5, bidirectional=True, batch_first=True, learn_initial_state=True)
        self.gru.initial_h.array[...] = np.random.default_rng(0).standard_normal((2, 5))

    def forward(self, x, h0):
        c0 = gn.zeros(*h0.shape)
        out, (h, c) = self.lstm(x, (h0, c0))
        return self.gru(out)[0], c


def test_given_hidden_zero_cell_no_bias_and_learned_state(tmp_path):
    gn.manual_seed(12)
    example = (gn.randn(2, 6, 3), gn.randn(2, 2, 4))
    inputs = (randn(5, 6, 3), randn(2, 5, 4))
    roundtrip(GivenH(), example, inputs, tmp_path, batch_axis=(0, 1))


class CellLoop(nn.Module):
    """A hand-written loop over an LSTMCell and a GRUCell, zeros made in forward."""

    def __init__(self):
        super().__init__()
        self.cell = nn.LSTMCell(3, 5)
        self.gru = nn.GRUCell(5, 4)
        self.rnn = nn.RNNCell(4, 4, nonlinearity="relu")

    def forward(self, x):                             # (N, L, 3)
        h = c = gn.zeros(x.shape[0], 5)
        g = None
        outs = []
        for t in range(x.shape[1]):
            h, c = self.cell(x[:, t], (h, c))
            g = self.gru(h, g)
            outs.append(self.rnn(g))
        return gn.stack(outs, 1)


def test_cells_in_a_python_loop(tmp_path):
    gn.manual_seed(10)
    roundtrip(CellLoop(), gn.randn(2, 4, 3), randn(5, 4, 3), tmp_path, verify=True)


class Glue(nn.Module):
    """Primitive ops between layers: view, residual add, scalar maths, cat, transpose."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3, padding=1)
        self.fc = nn.Linear(32, 32)
        self.out = nn.Linear(64, 3)

    def forward(self, x):
        y = self.conv(x)                                       # (N, 2, 4, 4)
        flat = y.view(y.shape[0], -1)                          # (N, 32)
        z = F.relu(self.fc(flat)) * 0.5 + flat                 # residual
        both = gn.cat([z, gn.tanh(flat) - 1.0], dim=1)         # (N, 64)
        t = both.unsqueeze(1).transpose(1, 2).squeeze(2)       # back to (N, 64)
        return self.out(t / 2.0).exp(), F.log_softmax(z[:, :5], dim=1)


@pytest.mark.parametrize("opset", [17, 21])
def test_custom_forward_with_primitive_ops(opset, tmp_path):
    gn.manual_seed(11)
    roundtrip(Glue(), gn.randn(2, 1, 4, 4), randn(8, 1, 4, 4), tmp_path, opset_version=opset,
              verify=True)


class MaxOverTime(nn.Module):
    """A text classifier pooling a BiGRU's outputs with max/min/amax over time."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(30, 8)
        self.rnn = nn.GRU(8, 6, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(12, 3)

    def forward(self, ids):
        out, _ = self.rnn(self.emb(ids))
        pooled = out.max(1)[0] + out.amax(1, keepdim=True)[:, 0] - out.min(dim=1)[0]
        return self.fc(pooled) + out.max() * 0.1


def test_max_min_pooling_over_time(tmp_path):
    gn.manual_seed(14)
    ids = np.random.default_rng(1).integers(0, 30, (5, 9))
    roundtrip(MaxOverTime(), gn.tensor(ids[:2]), ids, tmp_path, verify=True)


@pytest.mark.parametrize("preset", ["mlp", "cnn"])
def test_model_presets(preset, tmp_path):
    from glassnet.models import build_model
    gn.manual_seed(15)
    roundtrip(build_model(preset, (1, 12, 12), 10), gn.randn(2, 1, 12, 12),
              randn(3, 1, 12, 12), tmp_path)


def test_char_lstm_application_model(tmp_path):
    from glassnet.apps.text import CharLSTM
    gn.manual_seed(16)
    ids = np.random.default_rng(2).integers(0, 30, (4, 9))
    roundtrip(CharLSTM(30, 8, 16, layers=2), gn.tensor(ids[:2]), ids, tmp_path,
              output_names=["logits", "h_n", "c_n"])


# -- errors ------------------------------------------------------------------------------------
class FrozenBatch(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)

    def forward(self, x):
        return self.fc(x) + gn.ones(x.shape[0], 3)       # a constant of the example's batch


def test_verify_catches_a_frozen_batch_size(tmp_path):
    with pytest.raises(gn.onnx.ExportError, match="verify=True.*another size"):
        gn.onnx.export(FrozenBatch(), gn.randn(2, 3), tmp_path / "m.onnx", verify=True)
    assert not (tmp_path / "m.onnx").exists()


def test_verify_without_onnxruntime_uses_the_reference_evaluator(tmp_path, monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "onnxruntime", None)     # import onnxruntime fails
    with pytest.raises(gn.onnx.ExportError, match="verify=True.*another size"):
        gn.onnx.export(FrozenBatch(), gn.randn(2, 3), tmp_path / "m.onnx", verify=True)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.LSTM(4, 2, batch_first=True))
    assert gn.onnx.export(model, gn.randn(2, 5, 3), tmp_path / "m.onnx", verify=True).exists()


def test_unsupported_layer_is_named(tmp_path):
    model = nn.Sequential(nn.Linear(8, 8), nn.TransformerEncoderLayer(8, 2, 16))
    with pytest.raises(ValueError, match=r"unsupported layer TransformerEncoderLayer "
                                         r"\(supported: .*Linear"):
        gn.onnx.export(model, gn.randn(2, 3, 8), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


class Cumulative(nn.Module):
    def forward(self, x):
        return x.cumsum(1)


def test_unsupported_op_is_named(tmp_path):
    with pytest.raises(gn.onnx.ExportError, match="unsupported op CumsumBackward"):
        gn.onnx.export(Cumulative(), gn.randn(2, 3), tmp_path / "m.onnx")


def test_bad_arguments(tmp_path):
    lin = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="batch of at least 2"):
        gn.onnx.export(lin, gn.randn(1, 3), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="batch_axis"):
        gn.onnx.export(lin, gn.randn(2, 3), tmp_path / "m.onnx", batch_axis=(0, 1))
    with pytest.raises(ValueError, match="opset_version=12"):
        gn.onnx.export(lin, gn.randn(2, 3), tmp_path / "m.onnx", opset_version=12)
    with pytest.raises(ValueError, match="output_names"):
        gn.onnx.export(lin, gn.randn(2, 3), tmp_path / "m.onnx", output_names=["a", "b"])
    with pytest.raises(TypeError, match="glassnet.nn.Module"):
        gn.onnx.export(lambda x: x, gn.randn(2, 3), tmp_path / "m.onnx")
    with pytest.raises(gn.onnx.ExportError, match="lengths"):
        gn.onnx.export(_WithLengths(), gn.randn(4, 2, 3), tmp_path / "m.onnx", batch_axis=1)


class _WithLengths(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(3, 4)

    def forward(self, x):
        return self.rnn(x, lengths=np.array([4, 3]))[0]


def test_supported_layers_lists_the_families():
    names = gn.onnx.supported_layers()
    for layer in ("Linear", "Conv1d", "Conv2d", "MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d",
                  "BatchNorm1d", "BatchNorm2d", "Dropout", "Flatten", "RNN", "LSTM", "GRU",
                  "Embedding", "Upsample"):
        assert layer in names


class IdsTransposed(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(5, 3)

    def forward(self, ids):
        return self.emb(ids.transpose(0, 1))


def test_op_on_integer_input_outside_a_layer_is_refused(tmp_path):
    with pytest.raises(gn.onnx.ExportError, match="integer input"):
        gn.onnx.export(IdsTransposed(), gn.tensor([[1, 2, 3], [0, 4, 1]]), tmp_path / "m.onnx")


def test_import_is_lazy_and_a_missing_onnx_is_explained():
    import subprocess
    import sys
    code = ("import sys; sys.modules['onnx'] = None\n"
            "import glassnet as gn\n"
            "try:\n"
            "    gn.onnx.export(gn.nn.Linear(2, 2), gn.randn(2, 2), 'never.onnx')\n"
            "except ImportError as e:\n"
            "    print('ImportError:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert "ImportError: glassnet.onnx.export needs the onnx package: pip install " \
           "'glassnet[onnx]'" in out
    code = "import sys, glassnet; print('onnx' in sys.modules, 'onnxruntime' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "False False"


class OnDevice(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm1d(4)
        self.lstm = nn.LSTM(4, 5, batch_first=True)
        self.fc = nn.Linear(5, 2)

    def forward(self, x):                              # (N, 3, L)
        y = F.relu(self.bn(self.conv(x))).transpose(1, 2)
        h0 = gn.zeros(1, x.shape[0], 5, device=x.device)
        out, _ = self.lstm(y, (h0, h0))
        return self.fc(out[:, -1])


def test_a_model_on_a_device_exports_host_weights(device, tmp_path):
    gn.manual_seed(17)
    model = OnDevice()
    _randomize_batch_norm(model)
    x = randn(6, 3, 7)
    model.eval()
    with gn.no_grad():
        want = model(gn.tensor(x)).array                 # on the CPU, before moving
    model.to(device)
    path = gn.onnx.export(model, gn.tensor(x[:2], device=device), tmp_path / "m.onnx",
                          verify=True)
    assert next(model.parameters()).device == device
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(sess.run(None, {"input": x})[0], want, **TOL)


@pytest.mark.parametrize("layer", ["LSTM", "GRU", "RNN"])
def test_recurrent_file_matches_pytorch(layer, tmp_path):
    """Independent oracle: PyTorch's layer with the same state dict, on the same input."""
    torch = pytest.importorskip("torch")
    gn.manual_seed(19)
    kw = dict(num_layers=2, batch_first=True, bidirectional=True)
    ours = getattr(nn, layer)(3, 4, **kw)
    ref = getattr(torch.nn, layer)(3, 4, **kw)
    ref.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    path = gn.onnx.export(ours, gn.randn(2, 6, 3), tmp_path / "m.onnx")
    x = randn(5, 6, 3)
    got = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {"input": x})
    with torch.no_grad():
        out, state = ref(torch.from_numpy(x))
    want = [out, *state] if layer == "LSTM" else [out, state]
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w.numpy(), **TOL)
