"""Polyphonic music on the JSB Chorales with an LSTM over piano-roll frames
(glassnet.apps.music): train, report nats/frame, and write a generated chorale.

    python examples/music_jsb.py --out runs/music                       # train (recipe)
    python examples/music_jsb.py --generate runs/music --steps 96 --seed 3 --temperature 0.9

Hyperparameters come from ``recipes/music.toml`` (``--recipe``; ``--epochs`` overrides).
Data: ``<data-dir>/music/jsb-chorales-quarter.json`` (``--data-dir``, else $GLASSNET_DATA,
else the repository's sibling ``shared/data``). ``--generate`` writes
``RUN_DIR/generated-<seed>.mid`` and ``.png`` from the trained weights.
"""
import argparse
import dataclasses
from pathlib import Path

from glassnet.apps.music import (MusicRecipe, load_music_run, plot_roll, roll_to_midi, sample,
                                 train_music)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default=str(Path(__file__).resolve().parents[1] / "recipes" /
                                           "music.toml"))
    p.add_argument("--epochs", type=int)
    p.add_argument("--data-dir")
    p.add_argument("--out", default="runs/music")
    p.add_argument("--generate", metavar="RUN_DIR")
    p.add_argument("--steps", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperature", type=float, default=1.0)
    args = p.parse_args()
    if args.generate:
        model, _ = load_music_run(args.generate)
        roll = sample(model, args.steps, seed=args.seed, temperature=args.temperature)
        stem = Path(args.generate) / f"generated-{args.seed}"
        roll_to_midi(roll, stem.with_suffix(".mid"))
        plot_roll(roll, stem.with_suffix(".png"), f"sample (seed {args.seed})")
        print(f"wrote {stem}.mid and {stem}.png ({int(roll.sum())} note-steps)")
        return
    recipe = MusicRecipe.from_toml(args.recipe)
    over = {"epochs": args.epochs, "data_dir": args.data_dir}
    recipe = dataclasses.replace(recipe, **{k: v for k, v in over.items() if v is not None})
    res = train_music(recipe, args.out, overwrite=True)
    print(f"test NLL {res['test_nll']:.3f} nats/frame over {res['test_frames']} frames "
          f"(valid {res['valid_nll']:.3f}); training {res['train_seconds']:.0f} s; "
          f"sample in {args.out}/sample.mid, sample.png")


if __name__ == "__main__":
    main()
