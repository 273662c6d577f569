"""Parts of glassnet.distributed that need no MPI: loader shards, buckets, the one-process
communicator, and that importing the package does not import mpi4py."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from glassnet import distributed
from glassnet.data import DataLoader, TensorDataset
from glassnet.train import fit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _models  # noqa: E402


def _indices(loader):
    return [int(i) for x, _ in loader for i in x.array[:, 0]]


def _ds(n):
    return TensorDataset(np.arange(n, dtype=np.float32)[:, None], np.zeros(n, np.int64))


@pytest.mark.parametrize("n", [20, 23])
def test_shuffled_shards_are_disjoint_equal_and_follow_the_single_process_order(n):
    whole = DataLoader(_ds(n), 4, shuffle=True, seed=3)
    shards = [DataLoader(_ds(n), 2, shuffle=True, seed=3, num_replicas=2, rank=r)
              for r in range(2)]
    for _ in range(2):                                       # two epochs, new order each
        order = _indices(whole)
        a, b = (_indices(s) for s in shards)
        assert len(a) == len(b) == n // 2 and not set(a) & set(b)
        assert a == order[0:2 * (n // 2):2] and b == order[1:2 * (n // 2):2]
        assert len(shards[0]) == len(shards[1])


def test_unshuffled_shards_keep_every_sample_once():
    shards = [DataLoader(_ds(7), 2, num_replicas=3, rank=r) for r in range(3)]
    got = [_indices(s) for s in shards]
    assert got == [[0, 3, 6], [1, 4], [2, 5]]
    assert [s.num_samples for s in shards] == [3, 2, 2]


def test_loader_rejects_a_bad_rank():
    with pytest.raises(ValueError, match="rank=2"):
        DataLoader(_ds(4), 2, num_replicas=2, rank=2)
    with pytest.raises(ValueError, match="num_replicas"):
        DataLoader(_ds(4), 2, num_replicas=0)


class _TwoRanks(distributed.LocalCommunicator):
    rank, size, is_main = 1, 2, False


def test_shard_loader_splits_the_global_batch():
    loader = distributed.shard_loader(DataLoader(_ds(20), 8, shuffle=True, seed=1), _TwoRanks())
    assert (loader.batch_size, loader.num_replicas, loader.rank, loader.seed) == (4, 2, 1, 1)
    with pytest.raises(ValueError, match="batch_size=7 is not divisible"):
        distributed.shard_loader(DataLoader(_ds(20), 7), _TwoRanks())


def test_buckets_group_parameters_in_order_up_to_the_size():
    model, _, _ = _models.build(seed=0)                      # 384, 32, 160, 5 floats
    b = distributed.GradientBuckets(model.parameters(), distributed.LocalCommunicator(),
                                    bucket_mb=0.001)         # 262 floats
    assert b.buckets == [[0], [1, 2, 3]] and b.sizes == [384, 197]
    one = distributed.GradientBuckets(model.parameters(), distributed.LocalCommunicator())
    assert one.buckets == [[0, 1, 2, 3]]
    with pytest.raises(ValueError, match="bucket_mb=0"):
        distributed.GradientBuckets(model.parameters(), None, bucket_mb=0)


def test_fit_on_one_process_equals_plain_fit():
    train, val = _models.datasets()
    results = []
    for run in (fit, distributed.fit):
        model, opt, loss_fn = _models.build(seed=5)
        kw = {"comm": distributed.LocalCommunicator()} if run is distributed.fit else {}
        hist = run(model, loss_fn, opt, DataLoader(train, 16, shuffle=True, seed=7),
                   DataLoader(val, 10), epochs=2, verbose=False, **kw)
        results.append((hist.to_dict(), model.state_dict()))
    assert results[0][0] == results[1][0]
    for k, v in results[0][1].items():
        assert np.array_equal(v, results[1][1][k])


def test_importing_glassnet_distributed_does_not_import_mpi4py():
    code = "import sys, glassnet.distributed; print('mpi4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60)
    assert out.stdout.strip() == "False", out.stderr
