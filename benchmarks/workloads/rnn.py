"""rnn: Embedding(65,64)-RNN(64,256,batch_first)-Linear(256,65) per step, CE, Adam(1e-3), 32x64."""
from ._recurrent import make as _make


def make(framework: str, seed: int = 0):
    return _make("RNN", framework, seed)
