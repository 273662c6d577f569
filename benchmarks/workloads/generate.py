"""generate: the lstm workload's model writes 200 characters one at a time (greedy), from a
1-character prompt, carrying (h, c) between steps. Reported as characters per second."""
import numpy as np

from ._recurrent import VOCAB, _init_state, _net

CHARS = 200
UNIT = "chars/s"
PER_CALL = CHARS          # items produced by one call: the table shows items per second


def make(framework: str, seed: int = 0):
    state = _init_state("LSTM", seed)
    if framework == "torch":
        import torch
        model = _net(torch.nn, "LSTM").eval()
        model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})

        def generate():
            ids, hc, text = torch.tensor([[seed % VOCAB]]), None, []
            with torch.no_grad():
                for _ in range(CHARS):
                    out, hc = model.rnn(model.emb(ids), hc)
                    ids = model.fc(out[:, -1]).argmax(-1, keepdim=True)
                    text.append(int(ids))
            return text
        return generate
    import glassnet as gn
    model = _net(gn.nn, "LSTM").eval()
    model.load_state_dict(state)

    def generate():
        ids, hc, text = gn.tensor(np.array([[seed % VOCAB]])), None, []
        with gn.no_grad():
            for _ in range(CHARS):
                out, hc = model.rnn(model.emb(ids), hc)
                ids = model.fc(out[:, -1]).argmax(-1, keepdim=True)
                text.append(int(ids))
        return text
    return generate


def text(framework: str, seed: int = 0) -> list:
    """The generated character ids (for checking both frameworks agree)."""
    return make(framework, seed)()
