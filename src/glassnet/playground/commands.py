"""``glassnet playground [--port P] [--no-browser]``, registered by ``glassnet.cli``."""
from __future__ import annotations

import sys

__all__ = ["add_commands", "COMMANDS"]


def add_commands(sub) -> None:
    p = sub.add_parser("playground", help="train small networks on 2-D data in the browser",
                       description="Serve the playground on http://127.0.0.1:PORT/: pick a "
                       "dataset, layers, activation, learning rate, batch size and "
                       "regularisation, and watch the decision boundary, the loss curves, "
                       "every neuron and the current step (see docs/playground.md). Needs "
                       "Flask: pip install 'glassnet[playground]'.")
    p.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default 8000; "
                   "0 picks a free one)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")


def cmd_playground(args) -> int:
    try:
        from .server import serve
    except ImportError as e:
        print(f"glassnet: error: glassnet playground needs Flask ({e}); install it with "
              f"pip install 'glassnet[playground]'", file=sys.stderr)
        return 2
    serve(args.port, open_browser=not args.no_browser)
    return 0


COMMANDS = {"playground": cmd_playground}
