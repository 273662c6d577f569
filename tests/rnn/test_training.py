"""Behaviour beyond single forward/backward: truncated BPTT, learned state, errors, learning."""
import numpy as np
import pytest

import glassnet as gn


def test_truncated_bptt_with_detach():
    """Carrying h across chunks with detach(): gradients stop at the chunk boundary."""
    gn.manual_seed(0)
    lstm = gn.nn.LSTM(3, 4, batch_first=True)
    x = gn.randn(2, 12, 3)
    state = None
    for k in range(3):
        chunk = x[:, 4 * k:4 * k + 4]
        out, (h, c) = lstm(chunk, state)
        lstm.zero_grad()
        out.sum().backward()
        assert all(p.grad is not None for p in lstm.parameters())
        state = (h.detach(), c.detach())
        assert not state[0].requires_grad
    # the chunked forward equals the full forward (state carried correctly)
    full, (hf, _) = lstm(x)
    np.testing.assert_allclose(h.numpy(), hf.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.numpy(), full.numpy()[:, 8:], rtol=1e-5, atol=1e-6)


def test_learned_initial_state_gets_gradient():
    m = gn.nn.GRU(3, 4, num_layers=2, learn_initial_state=True)
    assert m.initial_h.shape == (2, 4)
    out, h = m(gn.randn(5, 2, 3))
    (out.sum() + h.sum()).backward()
    assert m.initial_h.grad is not None and np.abs(m.initial_h.grad.numpy()).sum() > 0
    lstm = gn.nn.LSTM(3, 4, learn_initial_state=True)
    assert set(lstm.state_dict()) >= {"initial_h", "initial_c", "weight_ih_l0"}


def test_dropout_between_layers_only_in_training():
    gn.manual_seed(0)
    m = gn.nn.LSTM(3, 8, num_layers=2, dropout=0.5)
    x = gn.randn(4, 2, 3)
    m.eval()
    a, b = m(x)[0].numpy(), m(x)[0].numpy()
    np.testing.assert_array_equal(a, b)
    m.train()
    assert not np.allclose(m(x)[0].numpy(), a)


@pytest.mark.parametrize("call, msg", [
    (lambda: gn.nn.LSTM(4, 5)(gn.randn(3, 2, 6)), "LSTM(input_size=4)"),
    (lambda: gn.nn.GRU(4, 5)(gn.randn(3, 2, 4), gn.randn(2, 2, 5)), "expected h_0"),
    (lambda: gn.nn.LSTM(4, 5)(gn.randn(3, 2, 4), gn.randn(1, 2, 5)), "tuple (h_0, c_0)"),
    (lambda: gn.nn.RNN(4, 5)(gn.randn(3, 2, 4), lengths=[4, 1]), "lengths must be in"),
    (lambda: gn.nn.RNN(4, 0), "hidden_size=0"),
    (lambda: gn.nn.RNN(4, 5, nonlinearity="sigmoid"), "nonlinearity"),
    (lambda: gn.nn.LSTMCell(4, 5)(gn.randn(2, 3)), "LSTMCell(input_size=4)"),
    (lambda: gn.nn.Embedding(5, 2)(gn.tensor([5])), "num_embeddings=5"),
])
def test_errors_name_the_layer(call, msg):
    with pytest.raises((ValueError, TypeError, IndexError)) as e:
        call()
    assert msg in str(e.value)


def test_learns_running_sum_task():
    """Sanity: a GRU learns to output the running sum of its inputs (loss → near zero)."""
    gn.manual_seed(0)
    rng = np.random.default_rng(0)
    gru, head = gn.nn.GRU(1, 16, batch_first=True), gn.nn.Linear(16, 1)
    params = list(gru.parameters()) + list(head.parameters())
    opt = gn.optim.Adam(params, lr=0.02)
    for _ in range(300):
        x = rng.uniform(-1, 1, (32, 8, 1)).astype(np.float32)
        y = np.cumsum(x, axis=1) / 4
        out, _ = gru(gn.tensor(x))
        loss = gn.nn.functional.mse_loss(head(out), gn.tensor(y))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 5e-4, loss.item()      # starts near 0.08
