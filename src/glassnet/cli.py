"""The ``glassnet`` command line: a thin shell over :mod:`glassnet.train`.

    glassnet train recipes/digits_mlp.toml --out runs/digits
    glassnet train --model mlp --dataset mnist --data-dir ../shared/data/mnist --epochs 5
    glassnet train --resume runs/digits --epochs 30
    glassnet evaluate runs/digits
    glassnet predict runs/digits --index 0
    glassnet predict runs/digits samples.npy

Every error (bad option, missing or corrupt file, unwritable output directory) prints ONE
line ``glassnet: error: ...`` on stderr and exits with status 2; no traceback.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

__all__ = ["main", "build_parser"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (exit status 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with the ``train``, ``evaluate`` and ``predict`` subcommands."""
    from .models import PRESETS
    from .train.recipe import DATASETS, OPTIMIZERS
    p = _Parser(prog="glassnet", description="Train, evaluate and use glassnet models.")
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    t = sub.add_parser("train", help="train a model from a recipe and/or options",
                       description="Train a model. Options override the recipe's values.")
    t.add_argument("recipe", nargs="?", metavar="RECIPE.toml", help="a recipe file")
    t.add_argument("--model", choices=sorted(PRESETS), help="model preset")
    t.add_argument("--dataset", choices=list(DATASETS), help="dataset")
    t.add_argument("--epochs", type=int, help="number of epochs")
    t.add_argument("--batch-size", type=int, help="training batch size")
    t.add_argument("--optimizer", choices=sorted(OPTIMIZERS), help="optimizer")
    t.add_argument("--lr", type=float, help="learning rate")
    t.add_argument("--seed", type=int, help="random seed (weights, split, shuffling)")
    t.add_argument("--data-dir", help="folder with the dataset files (MNIST)")
    t.add_argument("--out", metavar="RUN_DIR", help="output run directory "
                   "(default: runs/<recipe or model-dataset>-<time>)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its "
                   "newest checkpoint (only --epochs and --data-dir may change)")
    t.add_argument("--overwrite", action="store_true", help="replace the run already in "
                   "--out (its recipe, metrics, weights and checkpoints)")
    t.add_argument("--checkpoint-every", type=int, metavar="N", help="also checkpoint every "
                   "N steps inside epochs (default 0: at epoch ends only)")
    t.add_argument("--detect-anomaly", action="store_true", help="stop at the first NaN/Inf "
                   "naming the step and the layer (a few per cent slower)")
    t.add_argument("--quiet", action="store_true", help="no progress bars")
    t.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override any recipe key (repeatable; VALUE as in TOML)")
    t.add_argument("--distributed", action="store_true", help="data-parallel over the ranks "
                   "of an MPI job: mpiexec -n N glassnet train RECIPE --distributed (the "
                   "recipe's batch_size is the global batch; see docs/distributed.md)")

    sub.add_parser("tasks", help="list the tasks a recipe can name, with keys and formats",
                   description="Every task of glassnet.runs: its recipe keys (with "
                   "defaults) and the data formats it reads.")
    e = sub.add_parser("evaluate", help="evaluate a trained run on a dataset split",
                       description="Evaluate the final weights of a run directory.")
    e.add_argument("run_dir", metavar="RUN_DIR")
    e.add_argument("--dataset", choices=list(DATASETS), help="default: the run's dataset")
    e.add_argument("--data-dir", help="folder with the dataset files (MNIST)")
    e.add_argument("--split", default="test", choices=["train", "test"])

    r = sub.add_parser("predict", help="predict classes with a trained run",
                       description="Print the predicted class of test sample I of the run's "
                       "dataset, or of every sample in a .npy file (N, *input_shape) with "
                       "values scaled like the training data (pixels in [0, 1]).")
    r.add_argument("run_dir", metavar="RUN_DIR")
    r.add_argument("file", nargs="?", metavar="FILE", help="inputs to classify (.npy), or a "
                   ".wav recording for a speech run (recipes/speech.toml)")
    r.add_argument("--index", type=int, help="index of a test sample of the run's dataset")
    r.add_argument("--data-dir", help="folder with the dataset files (MNIST)")
    from .viz.cli_commands import add_commands          # explain, gradcheck, report
    add_commands(sub)
    from .apps.translation_train import add_commands as add_translation_commands
    add_translation_commands(sub)                         # translate
    from .playground.commands import add_commands as add_playground_commands
    add_playground_commands(sub)                          # playground
    g = sub.add_parser("generate", help="sample text from a trained char-LSTM run",
                       description="Print PROMPT followed by LENGTH generated characters.")
    g.add_argument("run_dir", metavar="RUN_DIR")
    g.add_argument("--prompt", default="ROMEO:", help="text to continue")
    g.add_argument("--length", type=int, default=500, help="characters to generate")
    g.add_argument("--temperature", type=float, default=0.8, help="> 0; lower is safer")
    g.add_argument("--top-k", type=int, help="sample among the K most likely characters")
    g.add_argument("--seed", type=int, help="sampling seed (same seed, same text)")
    s = sub.add_parser("transcribe", help="print the digits spoken in a WAV file",
                       description="Decode an 8 kHz mono WAV file with a speech_ctc run "
                       "(recipes/speech_ctc.toml) and print the digit string.")
    s.add_argument("run_dir", metavar="RUN_DIR")
    s.add_argument("file", metavar="FILE.wav")
    s.add_argument("--beam", type=int, help="prefix beam width (1: greedy; default: the "
                   "recipe's beam_width)")
    s.add_argument("--voice", nargs="+", metavar="WAV", help='more recordings of the same '
                   'speaker, unlabelled (runs with features = "speaker": FILE is normalised '
                   'by the mean/std of all of them; default: by itself; FILE itself and repeats '
                   'are dropped, so more/*.wav may include FILE)')
    s.add_argument("--self-train", action="store_true", help="first self-train the model on "
                   "FILE and the --voice files (unlabelled) with the recipe's self_train_* "
                   "settings (needs the FSDD training recordings)")
    return p


_OVERRIDES = ("model", "dataset", "epochs", "batch_size", "optimizer", "lr", "seed", "data_dir",
              "checkpoint_every")


_RUN_FILES = ("recipe.toml", "metrics.jsonl", "metrics.csv", "weights.safetensors",
              "run.json")


def _remove_run(run_dir: Path) -> None:
    """Delete the files glassnet wrote into ``run_dir`` (nothing else in it)."""
    import shutil
    shutil.rmtree(run_dir / "checkpoints", ignore_errors=True)
    for name in _RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)


def _run_task(args):
    """The glassnet.runs task of the recipe (or of the --resume run), or None."""
    from .runs import get_task
    from .runs.recipe import read_toml
    if not args.recipe:
        return None
    task = read_toml(args.recipe).get("task")
    return get_task(task) if isinstance(task, str) else None


def _cmd_train_task(task, args) -> int:
    """``glassnet train RECIPE.toml`` for a task of glassnet.runs."""
    bad = [f"--{k.replace('_', '-')}" for k in ("model", "dataset", "optimizer", "resume",
                                                  "checkpoint_every")
           if getattr(args, k, None)]
    if bad or args.distributed:
        bad += ["--distributed"] if args.distributed else []
        raise ValueError(f"{args.recipe}: a {task.name} recipe does not take "
                         f"{', '.join(bad)} (use --set KEY=VALUE)")
    recipe = task.recipe.from_toml(args.recipe)
    flags = {"epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
             "seed": args.seed}
    sets = [f"{k}={v}" for k, v in flags.items() if v is not None] + list(args.set)
    recipe = recipe.with_overrides(sets)
    run_dir = Path(args.out or f"runs/{Path(args.recipe).stem}-{time.strftime('%Y%m%d-%H%M%S')}")
    from .train import JSONLLogger, extra_callbacks
    fits = []

    def metrics_file():                            # RUN/metrics.jsonl, metrics-2.jsonl, ...
        fits.append(None)
        name = "metrics.jsonl" if len(fits) == 1 else f"metrics-{len(fits)}.jsonl"
        return JSONLLogger(run_dir / name)
    guards = [metrics_file]                        # every fit's history, written atomically
    if args.detect_anomaly:                        # every fit of the task is guarded
        from .inspect import AnomalyGuard
        guards.append(AnomalyGuard)
    with extra_callbacks(*guards):
        task.train(recipe, run_dir, overwrite=args.overwrite, verbose=not args.quiet,
                   data_dir=args.data_dir)
    return 0


def _cmd_tasks(args) -> int:
    import dataclasses
    from .runs import tasks
    for task in tasks():
        print(f"{task.name}: {task.summary}")
        print(f"  data: {task.formats}")
        keys = [f"{f.name}={f.default!r}" for f in dataclasses.fields(task.recipe)
                if f.name != "task"]
        print(f"  keys: {', '.join(keys)}")
    print("mlp/cnn classification: recipes/digits_mlp.toml, recipes/mnist_mlp.toml "
          "(model, dataset, epochs, batch_size, optimizer, lr, seed)")
    return 0


def _cmd_train(args) -> int:
    task = _run_task(args)
    if task is not None:
        return _cmd_train_task(task, args)
    from .train.recipe import Recipe, train_recipe
    comm = None
    if args.distributed:                              # glassnet.distributed (mpi4py)
        from .distributed import init
        from .distributed.recipe import train_recipe
        comm = init()
    given = {k: getattr(args, k) for k in _OVERRIDES if getattr(args, k) is not None}
    if args.set:
        from .runs import parse_set
        given.update(parse_set(pair) for pair in args.set)
    if args.resume:
        extra = sorted(set(given) - {"epochs", "data_dir", "checkpoint_every"})
        if args.recipe or extra:
            bad = ["RECIPE"] if args.recipe else []
            bad += ["--" + k.replace("_", "-") for k in extra]
            raise ValueError(f"--resume continues the saved recipe; {', '.join(bad)} cannot "
                             f"change (only --epochs and --data-dir)")
        if args.out and Path(args.out) != Path(args.resume):
            raise ValueError("--resume RUN_DIR writes into RUN_DIR; drop --out")
        run_dir = Path(args.resume)
        recipe_path = run_dir / "recipe.toml"
        if not recipe_path.is_file():
            raise FileNotFoundError(f"--resume {run_dir}: no recipe.toml there (not a run "
                                    f"directory)")
        base = Recipe.from_toml(recipe_path).to_dict()
        data_dir = given.pop("data_dir", None)
        recipe = Recipe.from_dict({**base, **given})
    else:
        base = Recipe.from_toml(args.recipe).to_dict() if args.recipe else {}
        recipe = Recipe.from_dict({**base, **given})
        data_dir = None
        name = Path(args.recipe).stem if args.recipe else f"{recipe.dataset}_{recipe.model}"
        run_dir = Path(args.out or f"runs/{name}-{time.strftime('%Y%m%d-%H%M%S')}")
        if comm is not None:                          # every rank uses rank 0's name
            run_dir = Path(comm.broadcast_object(str(run_dir)))
        if (run_dir / "recipe.toml").exists():
            if not args.overwrite:
                raise ValueError(f"--out {run_dir}: already holds a run; continue it with "
                                 f"--resume {run_dir}, replace it with --overwrite, or choose "
                                 f"another --out")
            if comm is None or comm.is_main:
                _remove_run(run_dir)
        if comm is not None:                          # all ranks checked before rank 0 writes
            comm.barrier("run directory check")
    start = time.perf_counter()
    kwargs = {"comm": comm} if comm is not None else {}
    callbacks = []
    if args.detect_anomaly:
        from .inspect import AnomalyGuard
        callbacks.append(AnomalyGuard())
    if not args.quiet and (comm is None or comm.is_main):   # the header every task prints
        from .runs.common import RunHeader
        callbacks.append(RunHeader("classification", recipe.dataset))
    if callbacks:
        kwargs["callbacks"] = callbacks
    try:
        result = train_recipe(recipe, run_dir, resume=bool(args.resume), data_dir=data_dir,
                              verbose=not args.quiet, **kwargs)
    except KeyboardInterrupt:
        from .io import list_checkpoints
        found = list_checkpoints(run_dir)
        kept = f"newest checkpoint {found[-1]}" if found else "no checkpoint yet"
        print(f"glassnet: interrupted; {kept} (continue with glassnet train --resume "
              f"{run_dir})", file=sys.stderr)
        return 130
    if comm is not None and not comm.is_main:
        return 0
    from .runs.common import print_result
    test = result["test"]
    print_result("classification", {"accuracy": test["accuracy"], "loss": test["loss"]}, None,
                 run_dir,
                 f"{result['epochs_run']} epochs, {time.perf_counter() - start:.1f} s")
    return 0


def _cmd_evaluate(args) -> int:
    from .runs import get_task, read_run_json
    run_json = Path(args.run_dir) / "run.json"
    if run_json.is_file():                             # a task of glassnet.runs
        run = read_run_json(args.run_dir)
        if get_task(str(run.get("task"))) is not None:
            print(json.dumps({k: run[k] for k in ("task", "test", "baselines")}))
            return 0
    from . import nn
    from .data import DataLoader
    from .train import evaluate
    from .train.recipe import recipe_datasets, load_run
    recipe, model, meta = load_run(args.run_dir)
    if args.dataset:
        recipe.dataset = args.dataset
    train, test = recipe_datasets(recipe, args.data_dir)
    ds = test if args.split == "test" else train
    if tuple(ds.arrays[0].shape[1:]) != tuple(meta["input_shape"]):
        raise ValueError(f"--dataset {recipe.dataset}: samples of shape "
                         f"{tuple(ds.arrays[0].shape[1:])} do not fit the run's model, "
                         f"trained on {tuple(meta['input_shape'])}")
    res = evaluate(model, DataLoader(ds, 512), nn.CrossEntropyLoss())
    print(f"{recipe.dataset} {args.split}: accuracy {res['accuracy']:.4f}  loss "
          f"{res['loss']:.4f}  ({len(ds)} samples)")
    return 0


def _cmd_predict(args) -> int:
    import numpy as np

    from .train import predict
    from .train.recipe import recipe_datasets, load_run
    run_json = Path(args.run_dir) / "run.json"
    if run_json.is_file():                                 # a task of glassnet.runs
        from .runs import get_task, read_run_json
        task = get_task(str(read_run_json(args.run_dir).get("task")))
        if task is not None and task.predict is not None:
            print(task.predict(args.run_dir, args))
            return 0
    if args.file and args.file.lower().endswith(".wav"):   # spoken digit: glassnet.apps.speech
        from .apps.speech import predict_cli
        return predict_cli(args.run_dir, args.file)
    if (args.file is None) == (args.index is None):
        raise ValueError("predict: give exactly one of FILE.npy or --index I")
    recipe, model, meta = load_run(args.run_dir)
    shape = tuple(meta["input_shape"])
    labels = None
    if args.index is not None:
        x_all, y_all = recipe_datasets(recipe, args.data_dir)[1].arrays
        if not 0 <= args.index < len(x_all):
            raise ValueError(f"--index {args.index}: expected 0 <= I < {len(x_all)}")
        x, labels, first = x_all[args.index:args.index + 1], y_all[args.index:args.index + 1], \
            args.index
    else:
        path = Path(args.file)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such file")
        x = np.load(path, allow_pickle=False)
        size = int(np.prod(shape))
        if x.dtype.kind not in "fiu" or x.size == 0 or x.size % size:
            raise ValueError(f"{path}: expected a non-empty numeric array of samples with "
                             f"shape {shape}, got {x.shape} {x.dtype}")
        x, first = x.reshape((-1,) + shape).astype(np.float32), 0
        if not np.isfinite(x).all():
            raise ValueError(f"{path}: inputs hold NaN or Inf")
        if x.min() < 0 or x.max() > 1:
            raise ValueError(f"{path}: expected values scaled like the training data, in "
                             f"[0, 1], got [{x.min():.3g}, {x.max():.3g}]")
    logits = predict(model, x).astype(np.float64)
    prob = np.exp(logits - logits.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    for i, row in enumerate(prob):
        line = f"{first + i}: predicted {int(row.argmax())} (p={row.max():.3f})"
        if labels is not None:
            line += f", label {int(labels[i])}"
        print(line)
    return 0


#: command -> the run tasks it works on ("classification": recipes without a task key)
_COMMAND_TASKS = {"evaluate": ("classification",), "explain": ("classification",),
                  "gradcheck": ("classification",), "generate": ("text", "text_generation"),
                  "translate": ("translation",), "transcribe": ("speech_ctc",)}
_NEEDS = {"classification": "a classification run (glassnet train recipes/digits_mlp.toml)",
          "text": "a text-generation run (recipes/char_lstm.toml)",
          "translation": "a translation run (recipes/translation.toml)",
          "speech_ctc": "a speech_ctc run (recipes/speech_ctc.toml)"}


def _check_run_task(command: str, run_dir) -> None:
    """Refuse, in one line, a run of a task that ``command`` does not work on."""
    if command not in _COMMAND_TASKS or run_dir is None:
        return
    recipe = Path(run_dir) / "recipe.toml"
    if not recipe.is_file():
        return                                      # the command's own error names it
    from .train.recipe import read_toml
    task = read_toml(recipe).get("task", "classification")
    allowed = _COMMAND_TASKS[command]
    if command == "evaluate":
        from .runs import get_task
        if get_task(str(task)) is not None:
            if not (Path(run_dir) / "run.json").is_file():
                raise ValueError(f"{command}: {run_dir} is a {task!r} run without run.json "
                                 f"(unfinished); {command} prints a finished run's figures")
            return                                  # evaluate prints its run.json figures
    if task not in allowed:
        raise ValueError(f"{command}: {run_dir} is a {task!r} run; {command} needs "
                         f"{_NEEDS[allowed[0]]}")


def main(argv=None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 training failed, 2 usage/file error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        from .version import __version__
        print(f"glassnet {__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return 2
    from .inspect import AnomalyError
    from .train import NonFiniteLossError
    from .viz.cli_commands import COMMANDS as GLASS_BOX_COMMANDS
    handler = {"train": _cmd_train, "evaluate": _cmd_evaluate, "predict": _cmd_predict,
               "tasks": _cmd_tasks,
               **GLASS_BOX_COMMANDS}
    from .apps.translation_train import COMMANDS as TRANSLATION_COMMANDS
    handler.update(TRANSLATION_COMMANDS)
    from .playground.commands import COMMANDS as PLAYGROUND_COMMANDS
    handler.update(PLAYGROUND_COMMANDS)
    if args.command == "generate":     # runs.text_generation (also the older text app's runs)
        from .runs.text_generation import cmd_generate
        handler["generate"] = cmd_generate
    if args.command == "transcribe":                    # glassnet.apps.speech_ctc
        from .apps.speech_ctc_transcribe import cmd_transcribe
        handler["transcribe"] = cmd_transcribe
    try:
        _check_run_task(args.command, getattr(args, "run_dir", None))
        return handler[args.command](args)
    except (NonFiniteLossError, AnomalyError) as e:
        print(f"glassnet: training stopped: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("glassnet: interrupted; the last finished epoch's checkpoint is kept (resume "
              "with glassnet train --resume RUN_DIR)", file=sys.stderr)
        return 130
    except (ValueError, TypeError, KeyError, OSError, json.JSONDecodeError) as e:
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        if isinstance(e, OSError) and e.filename and str(e.filename) not in msg:
            msg = f"{e.filename}: {msg}"
        print(f"glassnet: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
