"""Benchmark workloads of ../shared/BENCHMARKS.md. Each module defines

    make(framework: str, seed: int = 0) -> Callable[[], None]

returning one training step (forward, loss, backward, optimizer step, zero grad) for
"glassnet" or "torch", built from the SAME initial weights and data (same seed).
"""
NAMES = ("mlp", "cnn", "rnn", "lstm", "gru")
