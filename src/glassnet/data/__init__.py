"""Data: datasets, the DataLoader, and real dataset loaders (MNIST, UCI digits).

    from glassnet.data import DataLoader, get_dataset
    train = get_dataset("digits", split="train")
    for x, y in DataLoader(train, batch_size=64, shuffle=True, seed=0):
        ...   # x: Tensor (64, 1, 8, 8) float32, y: Tensor (64,) int64
"""
from ._files import ChecksumError, cache_dir, data_dir, download, sha256_file
from .dataset import Dataset, Subset, TensorDataset, random_split
from .digits import load_digits
from .loader import DataLoader, default_collate
from .mnist import MNIST, load_mnist, read_idx
from .registry import available_datasets, get_dataset

__all__ = [
    "Dataset", "TensorDataset", "Subset", "random_split", "DataLoader", "default_collate",
    "load_mnist", "MNIST", "read_idx", "load_digits", "get_dataset", "available_datasets",
    "data_dir", "cache_dir", "download", "sha256_file", "ChecksumError",
]
from .moving_mnist import MovingMNIST, generate_moving_mnist, moving_mnist_sequence  # noqa: E402
__all__ += ["MovingMNIST", "generate_moving_mnist", "moving_mnist_sequence"]
