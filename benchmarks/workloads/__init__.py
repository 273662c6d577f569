"""Benchmark workloads of ../shared/BENCHMARKS.md. Each module defines

    make(framework: str, seed: int = 0) -> Callable[[], None]

returning one training step (forward, loss, backward, optimizer step, zero grad) — or, for
the inference and generation workloads, one forward / one generated text — for "glassnet"
or "torch", built from the SAME initial weights and data (same seed). Optional module
attributes: ``THREADS`` (default 2), ``UNIT`` (default "ms/step"; "us/step", "ms/forward",
or a rate such as "chars/s" with ``PER_CALL`` items produced per call).
"""
NAMES = ("mlp", "cnn", "rnn", "lstm", "gru", "tiny", "infer-cnn", "generate")


def module_name(name: str) -> str:
    """Workload name -> module name (``infer-cnn`` lives in ``infer_cnn.py``)."""
    return name.replace("-", "_")


def training_step(model, loss_fn, opt, x, y, classes=None):
    """One step closure — forward, loss, backward, update, zero grad — for either framework
    (glassnet and PyTorch share these method names). ``classes`` flattens (N, L, C) logits."""
    def step():
        out = model(x)
        if classes is not None:
            out = out.reshape(-1, classes)
        loss = loss_fn(out, y)
        loss.backward()
        opt.step()
        opt.zero_grad()
    return step
