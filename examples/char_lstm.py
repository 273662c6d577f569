"""Character-level LSTM language model on Tiny Shakespeare, with sampling.

    python examples/char_lstm.py --minutes 30 --out runs/char_lstm          # train
    python examples/char_lstm.py --generate runs/char_lstm --prompt "ROMEO:" \\
        --length 500 --temperature 0.8 --top-k 20 --seed 1                # sample

A thin script over :mod:`glassnet.apps.text` (the same as ``glassnet train
recipes/char_lstm.toml`` and ``glassnet generate RUN_DIR``). Data:
``<data-dir>/tinyshakespeare/input.txt`` (``--data-dir``, else $GLASSNET_DATA, else the
repository's sibling ``shared/data``). The last 10% of the text is a held-out validation split,
reported in nats per character. Training is truncated BPTT: the text is cut into ``--batch``
parallel streams, each step reads the next ``--seq`` characters of every stream and starts
from the previous step's final state, detached. Gradients are clipped to norm ``--clip``.
An existing run in ``--out`` is replaced.
"""
import argparse

from glassnet.apps.text import TextRecipe, generate, train_text


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--out", default="runs/char_lstm")
    ap.add_argument("--minutes", type=float, default=30.0, help="training time budget")
    ap.add_argument("--steps", type=int, default=0, help="stop after this many steps (0: no)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=100)
    ap.add_argument("--emb", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=512)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--clip", type=float, default=5.0)
    ap.add_argument("--eval-every", type=int, default=200)
    ap.add_argument("--val-chars", type=int, default=30000,
                    help="validation chars used for the periodic check (the final one uses all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--generate", metavar="RUN_DIR", help="sample from a trained run instead")
    ap.add_argument("--prompt", default="ROMEO:")
    ap.add_argument("--length", type=int, default=500)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--top-k", type=int, default=None)
    args = ap.parse_args()
    if args.generate:
        print(generate(args.generate, args.prompt, args.length, args.temperature, args.top_k,
                       args.seed))
        return
    recipe = TextRecipe(emb=args.emb, hidden=args.hidden, layers=args.layers,
                        dropout=args.dropout, batch_size=args.batch, seq=args.seq, lr=args.lr,
                        clip=args.clip, minutes=args.minutes, steps=args.steps,
                        eval_every=args.eval_every, val_chars=args.val_chars, seed=args.seed,
                        data_dir=args.data_dir)
    res = train_text(recipe, args.out, overwrite=True)
    print(f"best checkpoint: validation {res['val_nats_per_char']:.4f} nats/char on all "
          f"{res['val_chars']} held-out chars after {res['steps']} steps, "
          f"{res['train_seconds']:.0f} s")
    print(generate(args.out, "ROMEO:", 300, 0.8, 20, seed=args.seed))


if __name__ == "__main__":
    main()
