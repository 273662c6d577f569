"""PyTorch's beginner tutorials, written out with glassnet imported as ``torch``, run to the
same numbers as real PyTorch from the same initial values.

Each tutorial is one function taking the framework's modules, so the very same code runs on
both. What the tutorials draw at random (weights, inputs) is drawn once by NumPy / torch and
handed to both. The code is the tutorials' own, ``f.data.sub_(f.grad.data * lr)`` included.
"""
import math

import numpy as np
import pytest
import torch as real_torch

import glassnet


def _modules(torch):
    if torch is glassnet:
        return glassnet, glassnet.nn, glassnet.nn.functional, glassnet.optim
    return real_torch, real_torch.nn, real_torch.nn.functional, real_torch.optim


# -- Deep Learning with PyTorch: a 60 minute blitz, "Neural Networks" -----------------------
def blitz_neural_networks(torch, state, input_np, target_np):
    torch, nn, F, optim = _modules(torch)

    class Net(nn.Module):

        def __init__(self):
            super(Net, self).__init__()
            # 1 input image channel, 6 output channels, 5x5 square convolution kernel
            self.conv1 = nn.Conv2d(1, 6, 5)
            self.conv2 = nn.Conv2d(6, 16, 5)
            # an affine operation: y = Wx + b
            self.fc1 = nn.Linear(16 * 5 * 5, 120)  # 5*5 from image dimension
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, 10)

        def forward(self, input):
            c1 = F.relu(self.conv1(input))
            s2 = F.max_pool2d(c1, (2, 2))
            c3 = F.relu(self.conv2(s2))
            s4 = F.max_pool2d(c3, 2)
            s4 = torch.flatten(s4, 1)
            f5 = F.relu(self.fc1(s4))
            f6 = F.relu(self.fc2(f5))
            output = self.fc3(f6)
            return output

    net = Net()
    if state is not None:
        net.load_state_dict(state)
    rec = {}
    params = list(net.parameters())
    rec["n_params"] = len(params)
    rec["conv1_weight_size"] = tuple(params[0].size())

    input = torch.tensor(input_np)
    out = net(input)
    rec["out"] = out.detach().numpy().copy()

    net.zero_grad()
    out.backward(torch.tensor(target_np[None, :]))       # the tutorial's torch.randn(1, 10)
    rec["fc3_grad_after_vector_backward"] = net.fc3.weight.grad.numpy().copy()

    output = net(input)
    target = torch.tensor(target_np)  # a dummy target, for example
    target = target.view(1, -1)  # make it the same shape as output
    criterion = nn.MSELoss()

    loss = criterion(output, target)
    rec["loss"] = loss.item()
    rec["grad_fn_chain"] = [loss.grad_fn is not None,
                            loss.grad_fn.next_functions[0][0] is not None,
                            loss.grad_fn.next_functions[0][0].next_functions[0][0] is not None]

    net.zero_grad()     # zeroes the gradient buffers of all parameters
    rec["conv1_bias_grad_before"] = net.conv1.bias.grad
    loss.backward()
    rec["conv1_bias_grad_after"] = net.conv1.bias.grad.numpy().copy()

    learning_rate = 0.01
    for f in net.parameters():
        f.data.sub_(f.grad.data * learning_rate)
    rec["fc1_after_manual_step"] = net.fc1.weight.detach().numpy().copy()

    # create your optimizer
    optimizer = optim.SGD(net.parameters(), lr=0.01)

    # in your training loop:
    losses = []
    for _ in range(3):
        optimizer.zero_grad()   # zero the gradient buffers
        output = net(input)
        loss = criterion(output, target)
        loss.backward()
        optimizer.step()    # Does the update
        losses.append(loss.item())
    rec["sgd_losses"] = losses
    rec["conv2_after_sgd"] = net.conv2.weight.detach().numpy().copy()
    return rec


def test_blitz_neural_networks_same_numbers():
    real_torch.manual_seed(0)
    rng = np.random.default_rng(0)
    input_np = rng.standard_normal((1, 1, 32, 32)).astype(np.float32)
    target_np = rng.standard_normal(10).astype(np.float32)
    t_state = _init_state()                 # torch's initial weights, given to both nets
    g = blitz_neural_networks(glassnet, t_state, input_np, target_np)
    t = blitz_neural_networks(real_torch, t_state, input_np, target_np)
    assert g["n_params"] == t["n_params"] == 10
    assert g["conv1_weight_size"] == t["conv1_weight_size"] == (6, 1, 5, 5)
    assert g["grad_fn_chain"] == t["grad_fn_chain"] == [True, True, True]
    assert g["conv1_bias_grad_before"] is None and t["conv1_bias_grad_before"] is None
    assert g["loss"] == pytest.approx(t["loss"], rel=1e-5)
    for key in ("out", "fc3_grad_after_vector_backward", "conv1_bias_grad_after",
                "fc1_after_manual_step", "conv2_after_sgd"):
        np.testing.assert_allclose(g[key], t[key], rtol=2e-4, atol=1e-6, err_msg=key)
    np.testing.assert_allclose(g["sgd_losses"], t["sgd_losses"], rtol=1e-4)
    assert t["sgd_losses"][-1] < t["sgd_losses"][0]


def _init_state():
    """A torch Net's initial state dict (the blitz's architecture)."""
    nn = real_torch.nn
    layers = {"conv1": nn.Conv2d(1, 6, 5), "conv2": nn.Conv2d(6, 16, 5),
              "fc1": nn.Linear(400, 120), "fc2": nn.Linear(120, 84), "fc3": nn.Linear(84, 10)}
    return {f"{name}.{k}": v.detach().clone() for name, layer in layers.items()
            for k, v in layer.state_dict().items()}


# -- Learning PyTorch with Examples: "PyTorch: Tensors and autograd" ------------------------
def polynomial_autograd(torch, init, steps):
    torch = _modules(torch)[0]
    dtype = torch.float32

    # Create Tensors to hold input and outputs.
    x_np = np.linspace(-math.pi, math.pi, 2000, dtype=np.float32)
    x = torch.tensor(x_np)                               # torch.linspace(...)
    y = torch.tensor(np.sin(x_np))                       # torch.sin(x)

    # Create random Tensors for weights. For a third order polynomial, we need
    # 4 weights: y = a + b x + c x^2 + d x^3
    # Setting requires_grad=True indicates that we want to compute gradients with
    # respect to these Tensors during the backward pass.
    a = torch.tensor(init[0], dtype=dtype, requires_grad=True)   # torch.randn((), ...)
    b = torch.tensor(init[1], dtype=dtype, requires_grad=True)
    c = torch.tensor(init[2], dtype=dtype, requires_grad=True)
    d = torch.tensor(init[3], dtype=dtype, requires_grad=True)

    learning_rate = 1e-6
    losses = []
    for t in range(steps):
        # Forward pass: compute predicted y using operations on Tensors.
        y_pred = a + b * x + c * x ** 2 + d * x ** 3

        # Compute and print loss using operations on Tensors.
        loss = (y_pred - y).pow(2).sum()
        if t % 100 == 99:
            losses.append(loss.item())

        # Use autograd to compute the backward pass.
        loss.backward()

        # Manually update weights using gradient descent. Wrap in torch.no_grad()
        # because weights have requires_grad=True, but we don't need to track this
        # in autograd.
        with torch.no_grad():
            a -= learning_rate * a.grad
            b -= learning_rate * b.grad
            c -= learning_rate * c.grad
            d -= learning_rate * d.grad

            # Manually zero the gradients after updating weights
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return losses, [v.item() for v in (a, b, c, d)], [(v.is_leaf, v.requires_grad)
                                                      for v in (a, b, c, d)]


def test_polynomial_fit_with_manual_gradient_descent_same_numbers():
    init = np.random.default_rng(4).standard_normal(4).astype(np.float32).tolist()
    g_losses, g_coef, g_flags = polynomial_autograd(glassnet, init, 500)
    t_losses, t_coef, t_flags = polynomial_autograd(real_torch, init, 500)
    assert g_flags == t_flags == [(True, True)] * 4        # still leaves that require grad
    np.testing.assert_allclose(g_losses, t_losses, rtol=1e-3)
    np.testing.assert_allclose(g_coef, t_coef, rtol=1e-3, atol=1e-5)
    assert t_losses[-1] < t_losses[0] / 4                  # it does fit sin(x)


# -- Learning PyTorch with Examples: "PyTorch: nn" ------------------------------------------
def polynomial_nn(torch, state, steps):
    torch, nn = _modules(torch)[:2]
    x_np = np.linspace(-math.pi, math.pi, 2000, dtype=np.float32)
    x, y = torch.tensor(x_np), torch.tensor(np.sin(x_np))
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 1),
        torch.nn.Flatten(0, 1)
    )
    model.load_state_dict(state)
    loss_fn = torch.nn.MSELoss(reduction='sum')
    learning_rate = 1e-6
    for _ in range(steps):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        model.zero_grad()
        loss.backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= learning_rate * param.grad
    linear_layer = model[0]
    return loss.item(), linear_layer.weight.detach().numpy().copy(), \
        linear_layer.bias.detach().numpy().copy()


def test_polynomial_fit_nn_same_numbers():
    real_torch.manual_seed(1)
    state = {k: v.detach().clone()
             for k, v in real_torch.nn.Linear(3, 1).state_dict().items()}
    state = {f"0.{k}": v for k, v in state.items()}
    g = polynomial_nn(glassnet, state, 60)
    t = polynomial_nn(real_torch, state, 60)
    assert g[0] == pytest.approx(t[0], rel=1e-3)
    np.testing.assert_allclose(g[1], t[1], rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(g[2], t[2], rtol=1e-3, atol=1e-5)


# -- 60 minute blitz, "Tensors" (the parts without random numbers) ---------------------------
def blitz_tensors(torch):
    torch = _modules(torch)[0]
    rec = {}
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    x_ones = torch.ones_like(x_data)  # retains the properties of x_data
    rec["x"] = (x_data.tolist(), x_np.tolist(), x_ones.tolist(), str(x_ones.dtype))

    tensor = torch.ones(4, 4)
    rec["index"] = (tensor[0].tolist(), tensor[:, 0].tolist(), tensor[..., -1].tolist())
    tensor[:, 1] = 0
    rec["tensor"] = tensor.tolist()
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    rec["cat"] = t1.tolist()

    # This computes the matrix multiplication between two tensors
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    # This computes the element-wise product
    z1 = tensor * tensor
    z2 = tensor.mul(tensor)
    rec["products"] = (y1.tolist(), y2.tolist(), z1.tolist(), z2.tolist())

    agg = tensor.sum()
    agg_item = agg.item()
    rec["agg"] = (agg_item, type(agg_item).__name__)

    # In-place operations
    tensor.add_(5)
    rec["add_"] = tensor.tolist()

    # Bridge with NumPy: the tensor and the array share memory
    t = torch.ones(5)
    n = t.numpy()
    t.add_(1)
    rec["t_to_n"] = (t.tolist(), n.tolist())
    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)
    rec["n_to_t"] = (t.tolist(), n.tolist())
    return rec


def test_blitz_tensors_same_results():
    g, t = blitz_tensors(glassnet), blitz_tensors(real_torch)
    g["x"] = g["x"][:3] + (g["x"][3].replace("int64", "torch.int64"),)
    assert g == t


# -- 60 minute blitz, "A Gentle Introduction to torch.autograd" -------------------------------
def blitz_autograd(torch, x_np, y_np, z_np):
    torch, nn, _, optim = _modules(torch)
    rec = {}
    a = torch.tensor([2., 3.], requires_grad=True)
    b = torch.tensor([6., 4.], requires_grad=True)
    Q = 3*a**3 - b**2
    external_grad = torch.tensor([1., 1.])
    Q.backward(gradient=external_grad)
    # Check if collected gradients are correct
    rec["a_ok"] = (9*a**2 == a.grad).tolist()
    rec["b_ok"] = (-2*b == b.grad).tolist()

    x = torch.tensor(x_np)                               # torch.rand(5, 5)
    y = torch.tensor(y_np)
    z = torch.tensor(z_np, requires_grad=True)           # torch.rand((5, 5), requires_grad=True)
    a = x + y
    rec["a_requires_grad"] = a.requires_grad
    b = x + z
    rec["b_requires_grad"] = b.requires_grad

    # Frozen parameters: finetune only a new classifier (a small model for resnet18)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    # Freeze all the parameters in the network
    for param in model.parameters():
        param.requires_grad = False
    model[2] = nn.Linear(8, 10)
    # Optimize only the classifier
    optimizer = optim.SGD(model.parameters(), lr=1e-2, momentum=0.9)
    out = model(x).sum()
    out.backward()
    optimizer.step()
    rec["frozen"] = [p.grad is None for p in model.parameters()]
    return rec


def test_blitz_autograd_same_results():
    rng = np.random.default_rng(5)
    arrays = [rng.random((5, 5), dtype=np.float32) for _ in range(3)]
    g, t = blitz_autograd(glassnet, *arrays), blitz_autograd(real_torch, *arrays)
    assert g == t
    assert g["a_ok"] == [True, True] and g["frozen"] == [True, True, False, False]


# -- Learning PyTorch with Examples: "PyTorch: optim" and "Custom nn Modules" ---------------
def polynomial_optim(torch, state, steps):
    torch = _modules(torch)[0]
    x_np = np.linspace(-math.pi, math.pi, 2000, dtype=np.float32)
    x, y = torch.tensor(x_np), torch.tensor(np.sin(x_np))
    p = torch.tensor([1, 2, 3])
    xx = x.unsqueeze(-1).pow(p)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 1),
        torch.nn.Flatten(0, 1)
    )
    model.load_state_dict(state)
    loss_fn = torch.nn.MSELoss(reduction='sum')
    learning_rate = 1e-3
    optimizer = torch.optim.RMSprop(model.parameters(), lr=learning_rate)
    for _ in range(steps):
        y_pred = model(xx)
        loss = loss_fn(y_pred, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item(), model[0].weight.detach().numpy().copy()


def polynomial_module(torch, init, steps):
    torch = _modules(torch)[0]

    class Polynomial3(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Parameter(torch.tensor(init[0]))  # torch.randn(())
            self.b = torch.nn.Parameter(torch.tensor(init[1]))
            self.c = torch.nn.Parameter(torch.tensor(init[2]))
            self.d = torch.nn.Parameter(torch.tensor(init[3]))

        def forward(self, x):
            return self.a + self.b * x + self.c * x ** 2 + self.d * x ** 3

    x_np = np.linspace(-math.pi, math.pi, 2000, dtype=np.float32)
    x, y = torch.tensor(x_np), torch.tensor(np.sin(x_np))
    model = Polynomial3()
    criterion = torch.nn.MSELoss(reduction='sum')
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-6)
    for _ in range(steps):
        y_pred = model(x)
        loss = criterion(y_pred, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return loss.item(), [model.a.item(), model.b.item(), model.c.item(), model.d.item()]


def test_polynomial_optim_and_custom_module_same_numbers():
    real_torch.manual_seed(2)
    state = {f"0.{k}": v.detach().clone()
             for k, v in real_torch.nn.Linear(3, 1).state_dict().items()}
    g, t = polynomial_optim(glassnet, state, 60), polynomial_optim(real_torch, state, 60)
    assert g[0] == pytest.approx(t[0], rel=1e-3)
    np.testing.assert_allclose(g[1], t[1], rtol=1e-3, atol=1e-5)
    init = np.random.default_rng(6).standard_normal(4).astype(np.float32).tolist()
    g, t = polynomial_module(glassnet, init, 100), polynomial_module(real_torch, init, 100)
    assert g[0] == pytest.approx(t[0], rel=1e-3)
    np.testing.assert_allclose(g[1], t[1], rtol=1e-3, atol=1e-5)
