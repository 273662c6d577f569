"""Same seed, same machine, same results bit for bit: MLP, CNN and LSTM training.

Each run seeds glassnet, builds the model (initialisation draws from the global generator),
shuffles with a seeded DataLoader, uses dropout, and trains a few steps with fit(). Two runs
in this process and one in a fresh subprocess must give identical weights and histories.
"""
import json
import subprocess
import sys

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.data import DataLoader, TensorDataset
from glassnet.train import fit


def _model(kind):
    if kind == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.2),
                             nn.Linear(32, 10))
    if kind == "cnn":
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Dropout2d(0.1), nn.Flatten(), nn.Linear(64, 10))

    class LSTMClassifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(8, 16, batch_first=True, num_layers=2, dropout=0.1)
            self.head = nn.Linear(16, 10)

        def forward(self, x):
            out, _ = self.lstm(x.reshape(x.shape[0], 8, 8))
            return self.head(out[:, -1])
    return LSTMClassifier()


def run(kind: str, seed: int = 0) -> dict:
    gn.manual_seed(seed)
    rng = np.random.default_rng(123)
    x = rng.random((96, 1, 8, 8), dtype=np.float32)
    y = rng.integers(0, 10, 96)
    model = _model(kind)
    opt = gn.optim.Adam(model.parameters(), lr=1e-2)
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, seed=seed)
    hist = fit(model, nn.CrossEntropyLoss(), opt, loader, epochs=2, verbose=False)
    return {"weights": {k: v.tolist() for k, v in model.state_dict().items()},
            "loss": list(hist["loss"])}


@pytest.mark.parametrize("kind", ["mlp", "cnn", "lstm"])
def test_same_seed_same_bits(kind):
    a, b = run(kind), run(kind)
    assert a == b                                   # exact equality, every bit
    c = run(kind, seed=1)
    assert c["weights"] != a["weights"]             # the seed does matter


@pytest.mark.parametrize("kind", ["mlp", "lstm"])
def test_fresh_process_reproduces_the_run(kind):
    code = ("import json, sys; sys.path.insert(0, %r); "
            "from test_determinism import run; print(json.dumps(run(%r)))"
            % (str(__import__('pathlib').Path(__file__).parent), kind))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == json.loads(json.dumps(run(kind)))
