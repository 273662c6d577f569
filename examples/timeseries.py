"""One-step-ahead forecasting of the shipped series through the ``forecast`` task.

    python examples/timeseries.py --series airline --out runs/timeseries
    python examples/timeseries.py --series temperatures

The same as ``glassnet train recipes/forecast_<series>.toml``: the candidates (a linear
neuron and a GRU over the window; persistence, seasonal naive, moving average and drift)
are scored on a validation part only, the winner is refitted and read once on the test part
(the last 24 months / 365 days / 240 months). Any CSV works: see ``glassnet tasks``.
"""
import argparse
from pathlib import Path

from glassnet.runs.forecast import ForecastRecipe, train_forecast

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", choices=["airline", "temperatures", "sunspots"],
                    default="airline")
    ap.add_argument("--data-dir", help="folder holding timeseries/ (default $GLASSNET_DATA)")
    ap.add_argument("--out", default=None, help="run directory (default runs/forecast_<series>)")
    args = ap.parse_args(argv)
    recipe = ForecastRecipe.from_toml(RECIPES / f"forecast_{args.series}.toml")
    out = args.out or f"runs/forecast_{args.series}"
    return train_forecast(recipe, out, overwrite=True, data_dir=args.data_dir)


if __name__ == "__main__":
    main()
