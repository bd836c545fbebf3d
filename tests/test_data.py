"""cr.utils.data: Dataset, TensorDataset, Subset, random_split, DataLoader, samplers."""
import numpy as np
import pytest

import chainrule as cr
from chainrule.utils.data import (BatchSampler, ConcatDataset, DataLoader, Dataset,
                                  RandomSampler, SequentialSampler, Subset, SubsetRandomSampler,
                                  TensorDataset, default_collate, random_split)


def _ds(n=10):
    return TensorDataset(cr.arange(n * 2, dtype=cr.float32).reshape(n, 2), cr.arange(n))


class Squares(Dataset):
    """A generic (non-tensor) dataset: exercises the per-sample path."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        return np.array([i, i * i], dtype=np.float32), i


def _labels(loader):
    return [b[1].tolist() for b in loader]


@pytest.mark.parametrize("make", [_ds, Squares], ids=["tensor", "generic"])
@pytest.mark.parametrize("n,bs,drop_last,shuffle", [
    (10, 3, False, False), (10, 3, True, False), (10, 5, False, True), (10, 3, False, True),
    (10, 3, True, True), (7, 10, False, True), (7, 10, True, False), (1, 1, False, True),
])
def test_each_sample_once_per_epoch(make, n, bs, drop_last, shuffle):
    loader = DataLoader(make(n), batch_size=bs, shuffle=shuffle, drop_last=drop_last,
                        generator=cr.Generator().manual_seed(0))
    expected_batches = n // bs if drop_last else -(-n // bs)
    assert len(loader) == expected_batches
    for _ in range(2):
        batches = _labels(loader)
        assert len(batches) == expected_batches
        sizes = [len(b) for b in batches]
        assert all(s == bs for s in sizes[:-1] if sizes)
        if drop_last:
            assert all(s == bs for s in sizes)
        seen = sorted(sum(batches, []))
        if drop_last:
            assert len(seen) == len(set(seen)) == expected_batches * bs
        else:
            assert seen == list(range(n))
        if not shuffle:
            assert sum(batches, []) == list(range(len(sum(batches, []))))


def test_batch_contents_match_rows():
    ds = _ds(10)
    for xb, yb in DataLoader(ds, batch_size=4, shuffle=True):
        assert isinstance(xb, cr.Tensor) and xb.dtype == cr.float32 and yb.dtype == cr.int64
        np.testing.assert_array_equal(xb.numpy(), ds.tensors[0].numpy()[yb.numpy()])
        assert not xb.requires_grad


def test_batches_are_copies_not_views():
    ds = _ds(6)
    xb, _ = next(iter(DataLoader(ds, batch_size=3)))
    xb.numpy()[...] = -1
    assert ds.tensors[0].numpy().min() == 0


def test_reshuffles_each_epoch_and_seeded_determinism():
    ds = _ds(50)
    loader = DataLoader(ds, batch_size=50, shuffle=True, generator=cr.Generator().manual_seed(3))
    e1, e2 = _labels(loader), _labels(loader)
    assert e1 != e2
    again = DataLoader(ds, batch_size=50, shuffle=True, generator=cr.Generator().manual_seed(3))
    assert _labels(again) == e1 and _labels(again) == e2
    cr.manual_seed(11)
    g1 = _labels(DataLoader(ds, batch_size=7, shuffle=True))
    cr.manual_seed(11)
    assert _labels(DataLoader(ds, batch_size=7, shuffle=True)) == g1


def test_subset_fast_path_and_nested_subsets():
    ds = _ds(10)
    inner = Subset(ds, [9, 8, 7, 6, 5, 4])
    outer = Subset(inner, [1, 3, 5])
    assert _labels(DataLoader(outer, batch_size=2)) == [[8, 6], [4]]
    assert outer[0][1].item() == 8


def test_generic_collate_nested():
    class D(Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return {"x": cr.full((2,), float(i)), "meta": (i, float(i) / 2, "s")}

    batch = next(iter(DataLoader(D(), batch_size=3)))
    assert batch["x"].shape == (3, 2)
    ints, floats, strs = batch["meta"]
    assert ints.dtype == cr.int64 and ints.tolist() == [0, 1, 2]
    assert floats.dtype == cr.float64 and floats.tolist() == [0.0, 0.5, 1.0]
    assert strs == ["s", "s", "s"]


def test_default_collate_errors():
    with pytest.raises(TypeError, match="default_collate"):
        default_collate([object(), object()])
    with pytest.raises(RuntimeError, match="equal size"):
        default_collate([[1, 2], [1]])


def test_custom_collate_sampler_and_batch_sampler():
    ds = _ds(6)
    loader = DataLoader(ds, batch_size=2, collate_fn=lambda s: [int(y) for _, y in s])
    assert list(loader) == [[0, 1], [2, 3], [4, 5]]
    loader = DataLoader(ds, batch_size=4, sampler=[5, 4, 3, 2, 1, 0])
    assert _labels(loader) == [[5, 4, 3, 2], [1, 0]]
    loader = DataLoader(ds, batch_sampler=[[0, 5], [2]])
    assert _labels(loader) == [[0, 5], [2]] and len(loader) == 2
    single = list(DataLoader(ds, batch_size=None))
    assert len(single) == 6 and single[2][1].item() == 2


@pytest.mark.parametrize("kwargs,match", [
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": 2.5}, "batch_size"),
    ({"shuffle": True, "sampler": [0, 1]}, "mutually exclusive"),
    ({"batch_sampler": [[0]], "batch_size": 4}, "mutually exclusive"),
])
def test_dataloader_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DataLoader(_ds(4), **kwargs)


def test_samplers():
    assert list(SequentialSampler(range(3))) == [0, 1, 2]
    g = cr.Generator().manual_seed(0)
    perm = list(RandomSampler(range(8), generator=g))
    assert sorted(perm) == list(range(8))
    draws = list(RandomSampler(range(3), replacement=True, num_samples=20, generator=g))
    assert len(draws) == 20 and set(draws) <= {0, 1, 2}
    assert len(list(RandomSampler(range(3), num_samples=7, generator=g))) == 7
    assert sorted(SubsetRandomSampler([2, 5, 7], generator=g)) == [2, 5, 7]
    assert list(BatchSampler(range(5), 2, drop_last=True)) == [[0, 1], [2, 3]]
    assert len(BatchSampler(range(5), 2, drop_last=False)) == 3


def test_tensor_dataset():
    X, y = cr.randn(5, 3), cr.arange(5)
    ds = TensorDataset(X, y)
    x1, y1 = ds[1]
    assert len(ds) == 5 and x1.shape == (3,) and y1.item() == 1
    assert TensorDataset(np.zeros((4, 2)), np.arange(4))[3][1] == 3
    with pytest.raises(ValueError, match=r"same first dimension.*\(5, 3\), \(4,\)"):
        TensorDataset(X, cr.arange(4))
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(cr.tensor(1.0))
    with pytest.raises(TypeError, match="argument 1"):
        TensorDataset(X, [1, 2, 3, 4, 5])


@pytest.mark.parametrize("lengths,sizes", [
    ([3, 7], [3, 7]), ([0.5, 0.5], [5, 5]), ([0.34, 0.33, 0.33], [4, 3, 3]),
    ([0.25, 0.75], [3, 7]), ([10, 0], [10, 0]),
])
def test_random_split_sizes_and_disjoint(lengths, sizes):
    parts = random_split(_ds(10), lengths, generator=cr.Generator().manual_seed(0))
    assert [len(p) for p in parts] == sizes
    idx = np.concatenate([np.asarray(p.indices, dtype=np.int64) for p in parts])
    assert sorted(idx.tolist()) == list(range(10))
    again = random_split(_ds(10), lengths, generator=cr.Generator().manual_seed(0))
    assert [list(p.indices) for p in again] == [list(p.indices) for p in parts]


@pytest.mark.parametrize("lengths", [[3, 3], [0.5, 0.6], [-1, 11]])
def test_random_split_bad_lengths(lengths):
    with pytest.raises(ValueError, match="random_split"):
        random_split(_ds(10), lengths)


def test_concat_dataset():
    c = ConcatDataset([_ds(3), _ds(2)])
    assert len(c) == 5 and c[3][1].item() == 0 and c[-1][1].item() == 1
    assert _labels(DataLoader(_ds(2) + _ds(2), batch_size=4)) == [[0, 1, 0, 1]]


def test_fast_path_does_not_call_getitem(monkeypatch):
    ds = _ds(8)
    calls = []
    monkeypatch.setattr(cr.Tensor, "__getitem__",
                        lambda self, k: calls.append(k) or (_ for _ in ()).throw(AssertionError))
    for _ in DataLoader(Subset(ds, list(range(8))), batch_size=3, shuffle=True):
        pass
    assert calls == []
