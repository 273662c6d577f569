"""lstm: Embedding(65,64)-LSTM(64,256,batch_first)-Linear(256,65) per step, CE, Adam, 32x64."""
from ._recurrent import make as _make


def make(framework: str, seed: int = 0):
    return _make("LSTM", framework, seed)
