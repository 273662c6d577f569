"""summary(): rows, output shapes and parameter counts against PyTorch."""
import re

import pytest
import torch

from glassnet import nn
from glassnet.models import build_model
from glassnet.train import summary


def _torch_mlp(sizes):
    layers = [torch.nn.Flatten()]
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers[:-1])


@pytest.mark.parametrize("preset,shape,sizes", [
    ("mlp", (1, 28, 28), [784, 512, 256, 10]),
    ("mlp-small", (1, 8, 8), [64, 128, 64, 10]),
])
def test_summary_param_counts_match_torch(preset, shape, sizes):
    model = build_model(preset, shape, 10)
    text = summary(model, shape, print_fn=None)
    expected = sum(p.numel() for p in _torch_mlp(sizes).parameters())
    total = int(re.search(r"Total params: ([\d,]+)", text).group(1).replace(",", ""))
    assert total == expected
    rows = [int(m.replace(",", "")) for m in re.findall(r"\)\s+\(N, \d+\)\s+([\d,]+)$", text,
                                                         re.M)]
    assert sum(rows) == expected
    assert f"(N, {sizes[1]})" in text and "(N, 10)" in text
    assert "Linear" in text and "Flatten" in text


def test_summary_prints_and_restores_model(capsys):
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Dropout(0.5))
    text = summary(model, (2, 2))
    assert capsys.readouterr().out.strip() == text.strip()
    assert model.training and "forward" not in model[1].__dict__
    assert "Trainable params: 15" in text
