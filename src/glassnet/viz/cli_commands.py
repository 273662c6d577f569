"""The glass-box subcommands of the ``glassnet`` CLI: ``explain``, ``gradcheck``, ``report``.

``glassnet.cli`` registers them with two lines::

    from .viz.cli_commands import COMMANDS, add_commands   # in build_parser: add_commands(sub)
    handler = {..., **COMMANDS}                               # in main

Each handler parses nothing itself: it loads what the arguments name, calls the library
(:func:`glassnet.inspect.trace`, :func:`glassnet.inspect.gradcheck`,
:func:`glassnet.viz.write_report`) and prints. Errors are raised as ValueError /
FileNotFoundError for the CLI to print as one line.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["add_commands", "COMMANDS", "tiny_example"]


def tiny_example():
    """The course's hand-checkable network: 2 inputs → 3 ReLU neurons → 1 output, MSE, on
    the four XOR points, with fixed weights. Returns ``(model, x, y, loss_fn)``."""
    from .. import nn
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    model.load_state_dict({
        "0.weight": np.array([[0.5, -0.4], [0.3, 0.8], [-0.6, 0.2]], np.float32),
        "0.bias": np.array([0.1, -0.1, 0.05], np.float32),
        "2.weight": np.array([[0.7, -0.5, 0.2]], np.float32),
        "2.bias": np.array([0.05], np.float32)})
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([[0], [1], [1], [0]], np.float32)
    return model, x, y, nn.MSELoss()


def _add_source(p, what: str) -> None:
    p.add_argument("run_dir", nargs="?", metavar="RUN_DIR", help=f"a run directory to {what}")
    p.add_argument("--model", help="instead of RUN_DIR: 'tiny' (2-3-1 network on XOR), "
                   "'tiny-cnn' (one 7×7 image, conv stride 2 padding 1, ReLU, 2×2 max pool), "
                   "'tiny-rnn' (RNN over 3 steps, BPTT) or a model preset with fresh weights")
    p.add_argument("--dataset", default="digits", help="dataset for --model PRESET "
                   "(default digits)")
    p.add_argument("--data-dir", help="folder with the dataset files (MNIST)")
    p.add_argument("--samples", type=int, default=4, help="how many test samples (default 4)")


def add_commands(sub) -> None:
    """Add the ``explain``, ``gradcheck`` and ``report`` subparsers to ``sub``."""
    e = sub.add_parser("explain", help="trace one training step in the course's notation",
                       description="Run ONE training step (forward, loss, backprop, the "
                       "optimizer's update: the run's own optimizer for RUN_DIR, SGD for "
                       "--model) and print every stage: z = W·x + b, a = f(z), the loss, "
                       "δ per layer, ∂L/∂W, ∂L/∂b and the update. tiny-cnn and tiny-rnn "
                       "also work the convolution, pooling and BPTT out by hand. The run's "
                       "saved weights are not changed.")
    _add_source(e, "explain")
    e.add_argument("--lr", type=float, default=None, help="η of the step (default: the "
                   "recipe's lr, or 0.1 for --model tiny, tiny-cnn, tiny-rnn)")
    e.add_argument("--format", choices=["text", "markdown", "html"], default="text")
    e.add_argument("--out", help="write to this file instead of printing")
    g = sub.add_parser("gradcheck", help="check every gradient against central differences",
                       description="Compare each parameter's backprop gradient with central "
                       "differences on a float64 copy of the model. Exit status 1 if any "
                       "parameter fails.")
    _add_source(g, "check")
    g.add_argument("--max-elements", type=int, default=32, help="elements checked per "
                   "parameter (default 32; each costs two forward passes)")
    r = sub.add_parser("report", help="write a self-contained report.html for a run",
                       description="Write RUN_DIR/report.html: recipe, model summary, "
                       "curves, plots that fit the model, a traced step, final metrics.")
    r.add_argument("run_dir", metavar="RUN_DIR")
    r.add_argument("--out", help="the HTML file (default RUN_DIR/report.html)")
    r.add_argument("--data-dir", help="folder with the dataset files (MNIST)")


def _tiny_examples() -> dict:
    from ..inspect.worked import tiny_cnn_example, tiny_rnn_example
    return {"tiny": tiny_example, "tiny-cnn": tiny_cnn_example, "tiny-rnn": tiny_rnn_example}


def _optimizer(recipe, model, lr):
    """The optimizer a run trained with (its recipe's kind, lr, momentum, weight decay), or
    plain SGD(η=lr) when there is no recipe."""
    from ..optim import SGD
    if recipe is None:
        return SGD(model.parameters(), lr=lr)
    from ..train.recipe import OPTIMIZERS
    kwargs = {"lr": lr, "weight_decay": recipe.weight_decay}
    if recipe.optimizer in ("sgd", "rmsprop"):
        kwargs["momentum"] = recipe.momentum
    return OPTIMIZERS[recipe.optimizer](model.parameters(), **kwargs)


def _load(args, with_recipe: bool = False):
    """``(model, x, y, loss_fn, lr)`` from RUN_DIR or --model (and the run's recipe, or
    None, when ``with_recipe``)."""
    from .. import nn
    if (args.run_dir is None) == (args.model is None):
        raise ValueError("give exactly one of RUN_DIR or --model")
    if args.samples < 1:
        raise ValueError(f"--samples {args.samples}: expected >= 1")
    tiny = _tiny_examples()
    recipe = None
    if args.model in tiny:
        model, x, y, loss_fn = tiny[args.model]()
        got = (model, x[:args.samples], y[:args.samples], loss_fn, 0.1)
        return got + (None,) if with_recipe else got
    from ..data import get_dataset
    if args.run_dir is not None:
        from ..train.recipe import load_run
        recipe, model, _ = load_run(args.run_dir, args.data_dir)
        dataset, lr = recipe.dataset, recipe.lr
        root = args.data_dir if args.data_dir is not None else recipe.data_dir
    else:
        from ..models import PRESETS, build_model
        if args.model not in PRESETS:
            raise ValueError(f"--model {args.model}: expected one of {sorted(tiny)} or "
                             f"{sorted(PRESETS)}")
        dataset, lr, root = args.dataset, 0.01, args.data_dir
        model = None
    x, y = get_dataset(dataset, root=None if dataset == "digits" else root,
                       split="test").arrays
    if model is None:
        model = build_model(args.model, x.shape[1:], int(y.max()) + 1)
    model.train()
    got = (model, x[:args.samples], y[:args.samples], nn.CrossEntropyLoss(), lr)
    return got + (recipe,) if with_recipe else got


def _cmd_explain(args) -> int:
    import html

    from ..inspect import trace
    from ..inspect.worked import worked_steps
    model, x, y, loss_fn, lr, recipe = _load(args, with_recipe=True)
    lr = args.lr if args.lr is not None else lr
    small = args.model in _tiny_examples()
    t = trace(model, x, y, loss_fn, _optimizer(recipe, model, lr),
              show_values=True if small else None)
    text = {"text": t.to_text, "markdown": t.to_markdown, "html": t.to_html}[args.format]()
    worked = worked_steps(t, model)
    if worked and args.format == "text":
        text += "\n" + worked
    elif worked and args.format == "markdown":
        text += "\n```text\n" + worked + "```\n"
    elif worked:
        text = text.replace("</div>\n</body>", f"<pre>{html.escape(worked)}</pre></div>\n"
                            "</body>")
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"trace written to {args.out}")
    else:
        print(text, end="")
    return 0


def _cmd_gradcheck(args) -> int:
    from ..inspect import gradcheck
    if args.max_elements < 1:
        raise ValueError(f"--max-elements {args.max_elements}: expected >= 1")
    model, x, y, loss_fn, _ = _load(args)
    from ..tensor import Tensor
    target = Tensor(y)

    def loss(out):
        return loss_fn(out, target)
    result = gradcheck(model, x, loss, max_elements=args.max_elements, check_inputs=False)
    return 0 if result.passed else 1


def _cmd_report(args) -> int:
    from .report import write_report
    out = write_report(args.run_dir, args.out, data_dir=args.data_dir)
    print(f"report written to {out}")
    return 0


COMMANDS = {"explain": _cmd_explain, "gradcheck": _cmd_gradcheck, "report": _cmd_report}
