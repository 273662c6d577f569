"""gn.viz.diagram: valid SVG with one element per neuron and per weight drawn, and the numbers
in it (weights, gradients, activations, feature maps, hidden states) equal PyTorch's."""
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn

NS = {"s": "http://www.w3.org/2000/svg"}


def _parse(svg: str):
    root = ET.fromstring(svg)                     # raises on invalid XML
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def _find(root, tag, cls, **data):
    out = root.findall(f'.//s:{tag}[@class="{cls}"]', NS)
    for k, v in data.items():
        out = [e for e in out if e.get(f"data-{k}") == str(v)]
    return out


def _number(el) -> float:
    return float(re.search(r"= (\S+)$", el.find("s:title", NS).text).group(1))


def _mlp():
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2))
    ref = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    with torch.no_grad():
        for k, v in model.state_dict().items():
            ref.state_dict()[k].copy_(torch.from_numpy(v))
    return model, ref


def test_dense_weights_activations_and_gradients_match_torch():
    model, ref = _mlp()
    x = np.array([[0.5, -1.0], [2.0, 0.3]], np.float32)
    root = _parse(gn.viz.diagram(model, x))
    assert len(_find(root, "circle", "neuron")) == 2 + 3 + 2
    weights = _find(root, "line", "weight")
    assert len(weights) == 2 * 3 + 3 * 2
    for e in weights:
        w = ref.state_dict()[f"{e.get('data-layer')}.weight"]
        assert _number(e) == pytest.approx(float(w[int(e.get("data-out")),
                                                   int(e.get("data-in"))]), rel=1e-3, abs=1e-6)
    with torch.no_grad():
        acts = [torch.from_numpy(x[0]), torch.relu(ref[0](torch.from_numpy(x[:1])))[0],
                ref(torch.from_numpy(x[:1]))[0]]
    for col, a in enumerate(acts):
        for e in _find(root, "circle", "neuron", column=col):
            title = e.find("s:title", NS).text
            shown = float(re.search(r"a = (\S+)$", title).group(1))
            assert shown == pytest.approx(float(a[int(e.get("data-index"))]), abs=1e-3)

    y = np.array([0, 1])
    gn.nn.CrossEntropyLoss()(model(gn.tensor(x)), gn.tensor(y)).backward()
    torch.nn.functional.cross_entropy(ref(torch.from_numpy(x)), torch.from_numpy(y)).backward()
    root = _parse(gn.viz.diagram(model, show="grad"))
    for e in _find(root, "line", "weight"):
        assert "∂L/∂w" in e.find("s:title", NS).text
        g = dict(ref.named_parameters())[f"{e.get('data-layer')}.weight"].grad
        assert _number(e) == pytest.approx(float(g[int(e.get("data-out")),
                                                   int(e.get("data-in"))]), rel=1e-3, abs=1e-6)


def test_caps_draw_first_and_last_neurons_with_an_ellipsis():
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    root = _parse(gn.viz.diagram(model, np.ones((1, 1, 8, 8), np.float32), max_neurons=6))
    assert len(_find(root, "circle", "neuron")) == 6 + 6 + 6
    assert len(_find(root, "line", "weight")) == 6 * 6 * 2
    assert len(_find(root, "text", "ellipsis")) == 3
    idx = sorted(int(e.get("data-index")) for e in _find(root, "circle", "neuron", column=0))
    assert idx == [0, 1, 2, 61, 62, 63]
    root = _parse(gn.viz.diagram(model))                   # default cap 10, no input
    assert len(_find(root, "circle", "neuron")) == 10 + 10 + 10
    assert len(_find(root, "line", "weight")) == 10 * 10 + 10 * 10


def test_cnn_stages_and_feature_maps_match_torch():
    gn.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, stride=1, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(3 * 3 * 3, 4))
    x = np.random.default_rng(0).normal(size=(2, 1, 6, 6)).astype(np.float32)
    root = _parse(gn.viz.diagram(model, x))
    maps, filters = _find(root, "g", "map"), _find(root, "g", "filter")
    assert len(filters) == 3 and len(maps) == 1 + 3 + 3       # input, feature maps, pooled
    w = torch.from_numpy(model[0].weight.array)
    b = torch.from_numpy(model[0].bias.array)
    fm = torch.relu(torch.nn.functional.conv2d(torch.from_numpy(x[:1]), w, b, padding=1))[0]
    pooled = torch.nn.functional.max_pool2d(fm[None], 2)[0]
    stages = sorted({int(g.get("data-stage")) for g in maps})
    for stage, ref in zip(stages[1:], (fm, pooled)):
        for g in [g for g in maps if g.get("data-stage") == str(stage)]:
            cells = g.findall("s:rect[@class='cell']", NS)
            c = int(g.get("data-index"))
            assert len(cells) == ref[c].numel()
            got = np.array([_number(r) for r in cells]).reshape(ref[c].shape)
            np.testing.assert_allclose(got, ref[c].numpy(), atol=1e-3)
    for g in filters:
        got = np.array([_number(r) for r in g.findall("s:rect[@class='cell']", NS)])
        np.testing.assert_allclose(got, w[int(g.get("data-index")), 0].numpy().ravel(),
                                   atol=1e-4)
    assert len(_find(root, "circle", "neuron")) == 10 + 4     # 27 flattened, capped; 4 classes
    root = _parse(gn.viz.diagram(model))                       # no input: filters only
    assert len(_find(root, "g", "filter")) == 3 and not _find(root, "g", "map")


def test_large_maps_are_one_image_each():
    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 26 * 26, 2))
    root = _parse(gn.viz.diagram(model, np.zeros((1, 1, 28, 28), np.float32), max_channels=4))
    maps = _find(root, "g", "map")
    assert len(maps) == 1 + 4 and all(len(g.findall("s:image", NS)) == 1 for g in maps)
    assert len(_find(root, "text", "ellipsis")) >= 2           # filters and maps capped


class _Forecaster(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(2, 4, batch_first=True)
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def test_rnn_unrolled_hidden_states_match_torch():
    gn.manual_seed(2)
    model = _Forecaster()
    ref = torch.nn.RNN(2, 4, batch_first=True)
    with torch.no_grad():
        for k, v in ref.named_parameters():
            v.copy_(torch.from_numpy(getattr(model.rnn, k).array))
    x = np.random.default_rng(0).normal(size=(2, 5, 2)).astype(np.float32)
    root = _parse(gn.viz.diagram(model, x))
    with torch.no_grad():
        h = ref(torch.from_numpy(x))[0][0]                     # (L, H) of sample 0
    hs = [e for e in _find(root, "circle", "neuron", role="h") if e.get("data-t") != "0"]
    assert len(hs) == 5 * 4 and len(_find(root, "circle", "neuron", role="x")) == 5 * 2
    for e in hs:
        assert _number(e) == pytest.approx(float(h[int(e.get("data-t")) - 1,
                                                   int(e.get("data-index"))]), abs=1e-3)
    assert len(_find(root, "circle", "neuron", role="y")) == 1
    x_long = np.zeros((1, 30, 2), np.float32)
    root = _parse(gn.viz.diagram(model, x_long, max_steps=6))
    ts = {e.get("data-t") for e in _find(root, "circle", "neuron", role="h")}
    assert ts == {"0", "1", "2", "3", "28", "29", "30"}
    assert _find(root, "text", "ellipsis")
    _parse(gn.viz.diagram(model))                              # structure only


def test_bad_arguments_are_named():
    model, _ = _mlp()
    with pytest.raises(ValueError, match="show='bias'"):
        gn.viz.diagram(model, show="bias")
    with pytest.raises(ValueError, match="no gradients yet"):
        gn.viz.diagram(model, show="grad")
    with pytest.raises(ValueError, match="max_neurons=1"):
        gn.viz.diagram(model, max_neurons=1)
    with pytest.raises(ValueError, match="nothing|no Linear"):
        gn.viz.diagram(nn.Sequential(nn.ReLU()))


def test_a_custom_activation_colours_the_neurons_by_its_output():
    class Step(nn.Module):
        def forward(self, z):
            return gn.tensor((z.numpy() > 0).astype(np.float32))

    gn.manual_seed(3)
    model = nn.Sequential(nn.Linear(2, 4), Step(), nn.Linear(4, 1))
    x = np.array([[0.7, -1.2]], np.float32)
    root = _parse(gn.viz.diagram(model, x))
    z = x @ model[0].weight.numpy().T + model[0].bias.numpy()
    for e in _find(root, "circle", "neuron", column=1):
        shown = float(re.search(r"a = (\S+)$", e.find("s:title", NS).text).group(1))
        assert shown == float(z[0, int(e.get("data-index"))] > 0)
    labels = [t.text for t in _find(root, "text", "layer-label")]
    assert "0: Linear 2→4 + Step" in labels


def test_a_model_on_a_device_is_drawn_from_host_copies(device):
    """The fake device refuses implicit host copies (like CuPy): the diagram copies
    explicitly, and moves the input to the model's device."""
    gn.manual_seed(4)
    cpu = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(2 * 2 * 2, 3))
    x = np.random.default_rng(0).normal(size=(1, 1, 4, 4)).astype(np.float32)
    want = gn.viz.diagram(cpu, x)
    assert gn.viz.diagram(cpu.to(device), x) == want
    rnn = _Forecaster().to(device)
    _parse(gn.viz.diagram(rnn, np.zeros((1, 3, 2), np.float32)))
