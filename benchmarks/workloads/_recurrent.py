"""Shared body of the rnn/lstm/gru workloads: Embedding(65,64)-<cell>(64,256, batch_first)-
Linear(256,65) on every step, cross-entropy over all steps, Adam(lr=1e-3), batch 32 x seq 64."""
import numpy as np

from . import training_step

VOCAB, EMB, HIDDEN, BATCH, SEQ = 65, 64, 256, 32, 64
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def _data(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, VOCAB, (BATCH, SEQ)).astype(np.int64)
    y = rng.integers(0, VOCAB, (BATCH, SEQ)).astype(np.int64)
    return x, y


def _init_state(kind, seed):
    """Initial weights as NumPy arrays, drawn once so both frameworks start identical."""
    rng = np.random.default_rng(seed + 1)
    G, k = GATES[kind] * HIDDEN, 1 / np.sqrt(HIDDEN)
    u = lambda b, *s: rng.uniform(-b, b, s).astype(np.float32)   # noqa: E731
    return {"emb.weight": rng.normal(0, 1, (VOCAB, EMB)).astype(np.float32),
            "rnn.weight_ih_l0": u(k, G, EMB), "rnn.weight_hh_l0": u(k, G, HIDDEN),
            "rnn.bias_ih_l0": u(k, G), "rnn.bias_hh_l0": u(k, G),
            "fc.weight": u(k, VOCAB, HIDDEN), "fc.bias": u(k, VOCAB)}


def _net(nn, kind):
    """The same network in either framework: ``nn`` is ``torch.nn`` or ``glassnet.nn``."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(VOCAB, EMB)
            self.rnn = getattr(nn, kind)(EMB, HIDDEN, batch_first=True)
            self.fc = nn.Linear(HIDDEN, VOCAB)

        def forward(self, ids):
            return self.fc(self.rnn(self.emb(ids))[0])
    return Net()


def make(kind: str, framework: str, seed: int = 0):
    x, y = _data(seed)
    state = _init_state(kind, seed)
    if framework == "torch":
        import torch
        model = _net(torch.nn, kind)
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        xt, yt = torch.from_numpy(x), torch.from_numpy(y).reshape(-1)
        return training_step(model, torch.nn.CrossEntropyLoss(), opt, xt, yt, classes=VOCAB)
    import glassnet as gn
    model = _net(gn.nn, kind)
    model.load_state_dict(state)
    opt = gn.optim.Adam(model.parameters(), lr=1e-3)
    xg, yg = gn.tensor(x), gn.tensor(y.reshape(-1))
    return training_step(model, gn.nn.CrossEntropyLoss(), opt, xg, yg, classes=VOCAB)
