"""Saving and loading: model weights (safetensors) and training checkpoints.

    from glassnet.io import save_weights, load_weights, save_checkpoint, load_checkpoint
    save_weights(model, "weights.safetensors")
    load_weights(model, "weights.safetensors")      # verifies checksum, keys and shapes

Nothing here ever uses pickle. Every file is written atomically. Any problem with a file
raises :class:`CheckpointError` (a ``ValueError``) naming the file.
"""
from .atomic import atomic_write_bytes, atomic_write_text
from .checkpoint import (Checkpoint, checkpoint_name, find_checkpoint, list_checkpoints,
                         load_checkpoint, recover_checkpoints, remove_checkpoint,
                         save_checkpoint)
from .weights import CheckpointError, load_weights, save_weights

__all__ = ["CheckpointError", "save_weights", "load_weights", "save_checkpoint",
           "load_checkpoint", "find_checkpoint", "list_checkpoints", "Checkpoint",
           "checkpoint_name", "remove_checkpoint", "recover_checkpoints",
           "atomic_write_bytes", "atomic_write_text"]
