"""The course's notation for each kind of layer, loss and optimizer.

Layers are recognised by duck typing, so layers written later (convolutions, pooling,
recurrent cells) are described as soon as they exist:

* a ``weight`` of 2 dims and an ``in_features`` attribute: a dense layer, ``z = W·x + b``;
* a ``weight`` of 3 or more dims: a convolution, ``z = W ⊛ x + b``;
* a ``weight_hh…`` parameter: a recurrent layer, ``h_t = tanh(W_ih·x_t + W_hh·h_{t−1} + b)``;
* the class name for activations, pooling, normalisation, dropout and reshaping layers.

Each function returns plain strings; :mod:`glassnet.inspect.render` lays them out.
"""
from __future__ import annotations

from ..tensor import Tensor

__all__ = ["layer_role", "forward_notation", "backward_notation", "loss_notation",
           "loss_grad_notation", "update_notation", "ACTIVATIONS"]

# class name → (forward formula, derivative used in backprop)
ACTIVATIONS = {
    "ReLU": ("a = relu(z) = max(0, z)", "relu′(z) = 1 if z > 0 else 0"),
    "LeakyReLU": ("a = max(α·z, z)", "f′(z) = 1 if z > 0 else α"),
    "Sigmoid": ("a = σ(z) = 1 / (1 + e^(−z))", "σ′(z) = σ(z)·(1 − σ(z))"),
    "Tanh": ("a = tanh(z)", "tanh′(z) = 1 − tanh²(z)"),
    "GELU": ("a = z·Φ(z)", "f′(z) = Φ(z) + z·φ(z)"),
    "Threshold": ("a = z if z > θ else v", "f′(z) = 1 if z > θ else 0"),
    "Softmax": ("p_i = e^(z_i) / Σ_j e^(z_j)", "∂p_i/∂z_j = p_i·(1[i=j] − p_j)"),
    "LogSoftmax": ("a_i = z_i − log Σ_j e^(z_j)", "∂a_i/∂z_j = 1[i=j] − p_j"),
}


def _has_param(module, prefix: str) -> bool:
    return any(n.startswith(prefix) and p is not None for n, p in module._parameters.items())


def layer_role(module) -> str:
    """One of 'dense', 'conv', 'recurrent', 'embedding', 'norm', 'activation', 'pool',
    'dropout', 'reshape' or 'other'."""
    kind = type(module).__name__
    w = module._parameters.get("weight")
    if _has_param(module, "weight_hh"):
        return "recurrent"
    if "Embedding" in kind:
        return "embedding"
    if "Norm" in kind:
        return "norm"
    if isinstance(w, Tensor) and w.ndim == 2:
        return "dense"
    if isinstance(w, Tensor) and w.ndim >= 3:
        return "conv"
    if kind in ACTIVATIONS:
        return "activation"
    if "Pool" in kind:
        return "pool"
    if "Dropout" in kind:
        return "dropout"
    if kind in ("Flatten", "Unflatten", "Identity", "Reshape"):
        return "reshape"
    return "other"


def _pair(v) -> str:
    """A kernel size: ``3`` or ``(3, 3)`` → ``3×3``."""
    if isinstance(v, (tuple, list)):
        return "×".join(str(i) for i in v)
    return f"{v}×{v}" if v is not None else "?"


def _one(v) -> str:
    """A stride or padding: ``(1, 1)`` → ``1``, ``(1, 2)`` → ``1×2``."""
    if isinstance(v, (tuple, list)):
        return str(v[0]) if len(set(v)) == 1 else "×".join(str(i) for i in v)
    return str(v)


def forward_notation(module) -> str:
    """The forward formula of one layer, e.g. ``z = W·x + b``."""
    role, kind = layer_role(module), type(module).__name__
    bias = getattr(module, "bias", None) is not None
    b = " + b" if bias else ""
    if role == "dense":
        return f"z = W·x{b}"
    if role == "conv":
        stride, pad = _one(getattr(module, "stride", 1)), _one(getattr(module, "padding", 0))
        return (f"z = W ⊛ x{b}   (cross-correlation, kernel {_pair(module.weight.shape[2:])}, "
                f"stride {stride}, padding {pad}; H_out = ⌊(H + 2p − k)/s⌋ + 1)")
    if role == "recurrent":
        if "LSTM" in kind:
            return ("i,f,g,o = σ,σ,tanh,σ(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh); "
                    "c_t = f⊙c_{t−1} + i⊙g; h_t = o⊙tanh(c_t)")
        if "GRU" in kind:
            return ("r,u = σ(W_ih·x_t + W_hh·h_{t−1} + b); n = tanh(W_in·x_t + r⊙(W_hn·h_{t−1})); "
                    "h_t = (1 − u)⊙n + u⊙h_{t−1}")
        return "h_t = tanh(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh)   (same W at every step t)"
    if role == "embedding":
        return "e = E[x]   (row x of the embedding matrix)"
    if role == "norm":
        return "x̂ = (x − μ) / √(σ² + ε);  z = γ·x̂ + β"
    if role == "activation":
        return ACTIVATIONS[kind][0]
    if role == "pool":
        k = _pair(getattr(module, "kernel_size", None))
        how = "max" if "Max" in kind else "mean"
        stride = _one(getattr(module, "stride", None) or getattr(module, "kernel_size", "?"))
        return f"a = {how} over each {k} window (stride {stride})"
    if role == "dropout":
        return "a = x ⊙ m / (1 − p),  m ~ Bernoulli(1 − p)   (training only)"
    if role == "reshape":
        return f"a = {kind.lower()}(x)   (same numbers, new shape)"
    return f"y = {kind}(x)"


def backward_notation(module) -> str:
    """How the gradient flows back through one layer (δ = ∂L/∂z is its output's gradient)."""
    role, kind = layer_role(module), type(module).__name__
    bias = getattr(module, "bias", None) is not None
    db = ";  ∂L/∂b = Σ_n δ_n" if bias else ""
    if role == "dense":
        return f"δ = ∂L/∂z;  ∂L/∂W = Σ_n δ_n·x_nᵀ{db};  ∂L/∂x = Wᵀ·δ"
    if role == "conv":
        db = ";  ∂L/∂b = Σ_{n,i,j} δ" if bias else ""
        return f"δ = ∂L/∂z;  ∂L/∂W = Σ_n x_n ⊛ δ_n{db};  ∂L/∂x = δ ⊛ᵀ W (full convolution)"
    if role == "recurrent":
        return ("BPTT: δ_t = ∂L/∂h_t + W_hhᵀ·δ_{t+1}⊙f′;  ∂L/∂W_hh = Σ_t δ_t·h_{t−1}ᵀ;  "
                "∂L/∂W_ih = Σ_t δ_t·x_tᵀ")
    if role == "activation":
        return f"∂L/∂z = ∂L/∂a ⊙ f′(z),  {ACTIVATIONS[kind][1]}"
    if role == "pool":
        if "Max" in kind:
            return "∂L/∂z = ∂L/∂a routed to the position of each window's maximum, 0 elsewhere"
        return "∂L/∂z = ∂L/∂a shared equally over each window"
    if role == "dropout":
        return "∂L/∂z = ∂L/∂a ⊙ m / (1 − p)"
    if role == "reshape":
        return "∂L/∂x = ∂L/∂a reshaped back"
    if role == "norm":
        return "δ = ∂L/∂z;  ∂L/∂γ = Σ δ⊙x̂;  ∂L/∂β = Σ δ"
    if role == "embedding":
        return "∂L/∂E[k] = Σ of δ over the positions where x = k"
    return "∂L/∂x = J_fᵀ·∂L/∂y"


_LOSSES = {   # key: lower-case name fragment
    "mse": ("MSE", "MSE = 1/n Σ (y_i − ŷ_i)²", "∂L/∂ŷ = 2/n (ŷ − y)"),
    "l1": ("MAE", "MAE = 1/n Σ |y_i − ŷ_i|", "∂L/∂ŷ = sign(ŷ − y)/n"),
    "bcewithlogits": ("BCE", "BCE = −1/n Σ [y·log σ(ŷ) + (1 − y)·log(1 − σ(ŷ))]",
                      "∂L/∂ŷ = (σ(ŷ) − y)/n"),
    "binary_cross_entropy_with_logits": ("BCE", "BCE = −1/n Σ [y·log σ(ŷ) + (1 − y)·log(1 − σ(ŷ))]",
                                         "∂L/∂ŷ = (σ(ŷ) − y)/n"),
    "bce": ("BCE", "BCE = −1/n Σ [y·log ŷ + (1 − y)·log(1 − ŷ)]",
            "∂L/∂ŷ = (ŷ − y) / (n·ŷ·(1 − ŷ))"),
    "binary_cross_entropy": ("BCE", "BCE = −1/n Σ [y·log ŷ + (1 − y)·log(1 − ŷ)]",
                             "∂L/∂ŷ = (ŷ − y) / (n·ŷ·(1 − ŷ))"),
    "crossentropy": ("CE", "CE = −1/N Σ_n log softmax(ŷ_n)[y_n]",
                     "∂L/∂ŷ = (softmax(ŷ) − onehot(y)) / N"),
    "cross_entropy": ("CE", "CE = −1/N Σ_n log softmax(ŷ_n)[y_n]",
                      "∂L/∂ŷ = (softmax(ŷ) − onehot(y)) / N"),
    "nll": ("NLL", "NLL = −1/N Σ_n ŷ_n[y_n]   (ŷ = log-probabilities)",
            "∂L/∂ŷ = −onehot(y) / N"),
}


def _loss_entry(loss_fn):
    name = getattr(loss_fn, "__name__", None) or type(loss_fn).__name__
    key = name.lower().replace("loss", "")
    if key in _LOSSES:
        return _LOSSES[key]
    for frag, entry in _LOSSES.items():
        if frag in key:
            return entry
    return (name, f"L = {name}(ŷ, y)", "∂L/∂ŷ")


def loss_notation(loss_fn) -> tuple[str, str]:
    """``(short name, formula)`` for a loss module or function, e.g. ``("MSE", "MSE = …")``."""
    short, formula, _ = _loss_entry(loss_fn)
    return short, formula


def loss_grad_notation(loss_fn) -> str:
    """The gradient of the loss with respect to the network's output, ``∂L/∂ŷ = …``."""
    return _loss_entry(loss_fn)[2]


def update_notation(optimizer, group: dict, sym: str = "W") -> str:
    """The update rule the optimizer applies to a parameter named ``sym``."""
    kind = type(optimizer).__name__
    g = f"∂L/∂{sym}"
    wd = group.get("weight_decay", 0) or 0
    if "Adam" in kind:
        rule = (f"m ← β₁m + (1 − β₁)·{g};  v ← β₂v + (1 − β₂)·({g})²;  "
                f"{sym} ← {sym} − η·m̂ / (√v̂ + ε)")
        return rule + (f";  decoupled decay {sym} ← {sym} − η·λ·{sym}" if "W" in kind and wd
                       else "")
    if "RMSprop" in kind:
        return f"v ← αv + (1 − α)·({g})²;  {sym} ← {sym} − η·{g} / (√v + ε)"
    if group.get("momentum", 0):
        grad = f"({g} + λ·{sym})" if wd else g
        return f"v ← μ·v + {grad};  {sym} ← {sym} − η·v"
    if wd:
        return f"{sym} ← {sym} − η·({g} + λ·{sym})"
    return f"{sym} ← {sym} − η·{g}"
