"""autograd.data: datasets, DataLoader (order, shuffling, collation, devices), random_split,
the generated/offline datasets and the IDX (MNIST) reader."""

from __future__ import annotations

import collections
import gzip
import math
import os
import warnings

import numpy as np
import pytest

import autograd as A
from autograd.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    datasets,
    default_collate,
    random_split,
)


def make_dataset(n=10, device="cpu"):
    x = A.arange(n * 3, dtype=A.float32, device=device).reshape(n, 3)
    y = A.arange(n, device=device)
    return TensorDataset(x, y)


class Samples(Dataset):
    """A plain map-style dataset over the same rows (goes through per-sample collation)."""

    def __init__(self, tensor_dataset):
        self.inner = tensor_dataset

    def __getitem__(self, index):
        return self.inner[index]

    def __len__(self):
        return len(self.inner)


def labels_of(loader):
    return [batch[1].tolist() for batch in loader]


# ---------------------------------------------------------------- datasets
def test_tensor_dataset_items_and_errors():
    ds = make_dataset(4)
    assert len(ds) == 4
    x, y = ds[2]
    assert x.tolist() == [6.0, 7.0, 8.0] and y.item() == 2
    with pytest.raises(ValueError, match=r"size mismatch between tensors.*\(4, 3\) and \(3,\)"):
        TensorDataset(A.zeros(4, 3), A.zeros(3))
    with pytest.raises(TypeError, match="argument 1 is a ndarray, expected a Tensor"):
        TensorDataset(A.zeros(4), np.zeros(4))


def test_subset_and_concat():
    ds = make_dataset(5)
    sub = Subset(ds, [4, 0, 2])
    assert len(sub) == 3 and [sub[i][1].item() for i in range(3)] == [4, 0, 2]
    both = ds + sub
    assert isinstance(both, ConcatDataset) and len(both) == 8
    assert [both[i][1].item() for i in (0, 4, 5, 7, -1)] == [0, 4, 4, 2, 2]
    with pytest.raises(IndexError, match="out of range"):
        both[-9]


# ---------------------------------------------------------------- DataLoader order
def test_sequential_batches_and_len():
    loader = DataLoader(make_dataset(10), batch_size=4)
    batches = list(loader)
    assert len(loader) == 3 == len(batches)
    assert [b[1].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    x, y = batches[0]
    assert isinstance(batches[0], list)  # PyTorch's default_collate gives a list for tuples
    assert x.shape == (4, 3) and x.dtype == A.float32 and y.dtype == A.int64
    assert x[1].tolist() == [3.0, 4.0, 5.0]


def test_drop_last():
    loader = DataLoader(make_dataset(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert labels_of(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(make_dataset(8), batch_size=4, drop_last=True)) == 2


def test_shuffle_is_seeded_and_changes_every_epoch():
    ds = make_dataset(50)
    first = DataLoader(ds, batch_size=8, shuffle=True, generator=123)
    second = DataLoader(ds, batch_size=8, shuffle=True, seed=123)
    epochs_first = [labels_of(first) for _ in range(3)]
    epochs_second = [labels_of(second) for _ in range(3)]
    assert epochs_first == epochs_second  # same seed: the same sequence of epochs
    assert epochs_first[0] != epochs_first[1] != epochs_first[2]  # a new order each epoch
    for epoch in epochs_first:
        flat = [label for batch in epoch for label in batch]
        assert sorted(flat) == list(range(50))  # each sample exactly once per epoch
        assert flat != list(range(50))
        assert [len(b) for b in epoch] == [8] * 6 + [2]
    other = DataLoader(ds, batch_size=8, shuffle=True, generator=124)
    assert labels_of(other) != epochs_first[0]


def test_shuffle_follows_manual_seed_and_numpy_generators():
    ds = make_dataset(30)
    A.manual_seed(7)
    run_a = [labels_of(DataLoader(ds, batch_size=5, shuffle=True)) for _ in range(2)]
    A.manual_seed(7)
    run_b = [labels_of(DataLoader(ds, batch_size=5, shuffle=True)) for _ in range(2)]
    assert run_a == run_b and run_a[0] != run_a[1]
    from_numpy_rng = labels_of(
        DataLoader(ds, batch_size=5, shuffle=True, generator=np.random.default_rng(3))
    )
    assert from_numpy_rng == labels_of(DataLoader(ds, batch_size=5, shuffle=True, seed=3))


def test_shuffle_with_drop_last_covers_full_batches_only():
    loader = DataLoader(make_dataset(23), batch_size=5, shuffle=True, drop_last=True, seed=0)
    epoch = labels_of(loader)
    assert len(epoch) == len(loader) == 4 and all(len(b) == 5 for b in epoch)
    assert len(set(sum(epoch, []))) == 20


def test_fast_path_equals_per_sample_collation(device):
    ds = make_dataset(37, device)
    fast = list(DataLoader(ds, batch_size=6, shuffle=True, seed=5))
    slow = list(DataLoader(Samples(ds), batch_size=6, shuffle=True, seed=5))
    assert len(fast) == len(slow) == 7
    for (fx, fy), (sx, sy) in zip(fast, slow):
        assert (fx.dtype, fy.dtype, fx.shape) == (sx.dtype, sy.dtype, sx.shape)
        assert fx.device == fy.device == sx.device == ds.tensors[0].device
        np.testing.assert_array_equal(fx.numpy(), sx.numpy())
        np.testing.assert_array_equal(fy.numpy(), sy.numpy())


def test_fast_path_never_fetches_single_samples(monkeypatch):
    ds = make_dataset(12)

    def no_single_samples(self, index):
        raise AssertionError("the fast path should index whole tensors")

    monkeypatch.setattr(TensorDataset, "__getitem__", no_single_samples)
    batches = list(DataLoader(ds, batch_size=5, shuffle=True, seed=1))
    assert sorted(sum((b[1].tolist() for b in batches), [])) == list(range(12))


def test_fast_path_through_subsets_of_subsets(device):
    ds = make_dataset(20, device)
    inner = Subset(ds, list(range(19, -1, -1)))  # reversed
    outer = Subset(inner, [0, 2, 4, 6, 8])
    assert labels_of(DataLoader(outer, batch_size=2)) == [[19, 17], [15, 13], [11]]


def test_batches_are_copies_not_views_of_the_dataset(device):
    ds = make_dataset(4, device)
    x, _ = next(iter(DataLoader(ds, batch_size=2)))
    x.add_(100.0)
    assert ds.tensors[0][0].tolist() == [0.0, 1.0, 2.0]


def test_device_moves_every_batch(device):
    loader = DataLoader(make_dataset(6), batch_size=4, device=device)
    for x, y in loader:
        assert x.device == A.zeros(1, device=device).device and y.device == x.device
    dict_loader = DataLoader([{"a": 1.0, "b": [2, 3]}] * 3, batch_size=2, device=device)
    batch = next(iter(dict_loader))
    assert batch["a"].device == batch["b"][0].device == A.zeros(1, device=device).device


def test_batch_size_none_yields_single_converted_samples():
    samples = [np.array([1.0, 2.0]), np.array([3.0, 4.0])]
    out = list(DataLoader(samples, batch_size=None))
    assert [o.tolist() for o in out] == [[1.0, 2.0], [3.0, 4.0]]
    assert out[0].dtype == A.float64


def test_custom_samplers():
    ds = make_dataset(6)
    loader = DataLoader(ds, batch_size=2, sampler=[5, 3, 1])
    assert labels_of(loader) == [[5, 3], [1]]
    batches = BatchSampler(SequentialSampler(ds), 4, drop_last=False)
    assert list(batches) == [[0, 1, 2, 3], [4, 5]] and len(batches) == 2
    assert labels_of(DataLoader(ds, batch_sampler=[[0, 5], [2]])) == [[0, 5], [2]]
    sampler = RandomSampler(ds, replacement=True, num_samples=50, generator=0)
    drawn = list(sampler)
    assert len(drawn) == 50 and set(drawn) <= set(range(6)) and len(set(drawn)) > 1
    assert list(RandomSampler(ds, num_samples=8, generator=0))[:6] != list(range(6))


def test_dataloader_option_errors():
    ds = make_dataset(4)
    with pytest.raises(ValueError, match="sampler option is mutually exclusive with shuffle"):
        DataLoader(ds, sampler=[0, 1], shuffle=True)
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_sampler=[[0]], batch_size=2)
    with pytest.raises(ValueError, match="batch_size should be a positive integer value"):
        DataLoader(ds, batch_size=0)
    with pytest.raises(ValueError, match="either generator or seed"):
        DataLoader(ds, shuffle=True, generator=1, seed=1)
    with pytest.raises(TypeError, match="generator should be None, an int seed or a numpy"):
        DataLoader(ds, shuffle=True, generator="seed")
    with pytest.warns(UserWarning, match="num_workers=2 is ignored"):
        DataLoader(ds, num_workers=2)


# ---------------------------------------------------------------- collation
def test_default_collate_types():
    tensors = default_collate([A.tensor([1.0, 2.0]), A.tensor([3.0, 4.0])])
    assert tensors.shape == (2, 2) and tensors.dtype == A.float32
    doubles = default_collate([np.array([1.0]), np.array([2.0])])
    assert doubles.dtype == A.float64 and doubles.tolist() == [[1.0], [2.0]]  # as torch
    assert default_collate([np.float64(1.5), np.float64(2.5)]).dtype == A.float64
    floats = default_collate([1.5, 2.5])
    assert floats.dtype == A.float32 and floats.tolist() == [1.5, 2.5]  # differs from torch
    ints = default_collate([1, 2])
    assert ints.dtype == A.int64 and ints.tolist() == [1, 2]
    assert default_collate([True, False]).dtype == A.bool_
    assert default_collate(["a", "b"]) == ["a", "b"]


def test_default_collate_containers():
    pairs = default_collate([(A.tensor([1.0]), 0), (A.tensor([2.0]), 1)])
    assert isinstance(pairs, list) and pairs[0].shape == (2, 1) and pairs[1].tolist() == [0, 1]
    dicts = default_collate([{"x": 1.0, "y": [1, 2]}, {"x": 2.0, "y": [3, 4]}])
    assert dicts["x"].tolist() == [1.0, 2.0]
    assert [t.tolist() for t in dicts["y"]] == [[1, 3], [2, 4]]
    Point = collections.namedtuple("Point", "x y")
    points = default_collate([Point(1, 2.0), Point(3, 4.0)])
    assert isinstance(points, Point) and points.x.tolist() == [1, 3]


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        default_collate([[1, 2], [3]])
    with pytest.raises(RuntimeError, match=r"equal size.*\(2,\) at entry 0 and \(3,\) at entry 1"):
        default_collate([A.zeros(2), A.zeros(3)])
    with pytest.raises(TypeError, match="found object"):
        default_collate([object(), object()])


def test_collate_keeps_the_graph_of_samples_that_require_grad():
    w = A.tensor([1.0, 2.0], dtype=A.float64, requires_grad=True)
    batch = default_collate([w * 2, w * 3])
    batch.sum().backward()
    assert w.grad.tolist() == [5.0, 5.0]


# ---------------------------------------------------------------- random_split
def test_random_split_lengths_partition_and_determinism():
    ds = make_dataset(10)
    parts = random_split(ds, [3, 7], generator=42)
    assert [len(p) for p in parts] == [3, 7]
    labels = [[p[i][1].item() for i in range(len(p))] for p in parts]
    assert sorted(labels[0] + labels[1]) == list(range(10))
    again = random_split(ds, [3, 7], generator=42)
    assert [p.indices for p in again] == [p.indices for p in parts]
    assert random_split(ds, [3, 7], generator=43)[0].indices != parts[0].indices
    A.manual_seed(1)
    first = random_split(ds, [5, 5])[0].indices
    A.manual_seed(1)
    assert random_split(ds, [5, 5])[0].indices == first


def test_random_split_fractions_follow_pytorch():
    ds = make_dataset(10)
    # floor(10 * 0.33) = 3 each; the remainder (1) goes round robin from the first split.
    parts = random_split(ds, [0.33, 0.33, 0.34], generator=0)
    assert [len(p) for p in parts] == [4, 3, 3]
    assert sorted(sum((p.indices for p in parts), [])) == list(range(10))
    assert [len(p) for p in random_split(ds, [0.5, 0.5], generator=0)] == [5, 5]
    with pytest.warns(UserWarning) as record:
        parts = random_split(make_dataset(2), [0.9, 0.05, 0.05], generator=0)
    assert [len(p) for p in parts] == [2, 0, 0]
    assert [str(w.message) for w in record] == [
        f"Length of split at index {i} is 0. This might result in an empty dataset." for i in (1, 2)
    ]


def test_random_split_errors():
    ds = make_dataset(10)
    with pytest.raises(ValueError, match="Sum of input lengths does not equal the length"):
        random_split(ds, [3, 3])
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
        random_split(ds, [-0.5, 1.5])


# ---------------------------------------------------------------- generated datasets
@pytest.mark.parametrize("maker", ["make_moons", "make_circles"])
def test_toy_datasets_match_scikit_learn(maker):
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    X, y = getattr(datasets, maker)(n_samples=101, noise=0.1, seed=3)
    assert X.shape == (101, 2) and X.dtype == A.float32
    assert y.shape == (101,) and y.dtype == A.int64
    X_ref, y_ref = getattr(sklearn_datasets, maker)(n_samples=101, noise=0.1, random_state=3)
    np.testing.assert_allclose(X.numpy(), X_ref.astype(np.float32))
    np.testing.assert_array_equal(y.numpy(), y_ref)
    assert y.sum().item() == 51  # the second class gets the odd sample


def test_toy_datasets_are_deterministic():
    a = datasets.make_circles(64, noise=0.05, factor=0.5, seed=0)
    b = datasets.make_circles(64, noise=0.05, factor=0.5, seed=0)
    np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
    A.manual_seed(4)
    c = datasets.make_moons(64, noise=0.05)
    A.manual_seed(4)
    d = datasets.make_moons(64, noise=0.05)
    np.testing.assert_array_equal(c[0].numpy(), d[0].numpy())
    radii = np.linalg.norm(datasets.make_circles(200, factor=0.5, seed=1)[0].numpy(), axis=1)
    labels = datasets.make_circles(200, factor=0.5, seed=1)[1].numpy()
    np.testing.assert_allclose(radii[labels == 0], 1.0, rtol=1e-6)
    np.testing.assert_allclose(radii[labels == 1], 0.5, rtol=1e-6)
    with pytest.raises(ValueError, match="factor has to be between 0 and 1"):
        datasets.make_circles(10, factor=1.5)


def course_load_planar_dataset():
    # The course's planar_utils.load_planar_dataset, as published (global seed, column layout).
    np.random.seed(1)
    m = 400
    N = int(m / 2)
    D = 2
    X = np.zeros((m, D))
    Y = np.zeros((m, 1), dtype="uint8")
    a = 4
    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + np.random.randn(N) * 0.2
        r = a * np.sin(4 * t) + np.random.randn(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    return X.T, Y.T


def test_planar_flower_dataset_is_the_courses():
    X, y = datasets.load_planar_dataset()
    assert X.shape == (400, 2) and X.dtype == A.float32
    assert y.shape == (400,) and y.dtype == A.int64
    X_course, Y_course = course_load_planar_dataset()
    np.testing.assert_allclose(X.numpy(), X_course.T.astype(np.float32))
    np.testing.assert_array_equal(y.numpy(), Y_course[0])
    assert y.tolist() == [0] * 200 + [1] * 200
    # Every point lies within the petals: radius <= 4 plus the noise.
    assert np.linalg.norm(X.numpy(), axis=1).max() < 4 + 1.0
    X2, _ = datasets.load_planar_dataset(m=100, seed=2)
    assert X2.shape == (100, 2) and not np.allclose(X2.numpy()[:50], X.numpy()[:50])


def test_load_digits():
    pytest.importorskip("sklearn")
    X, y = datasets.load_digits()
    assert X.shape == (1797, 64) and X.dtype == A.float32
    assert y.shape == (1797,) and y.dtype == A.int64
    assert X.min().item() == 0.0 and X.max().item() == 16.0
    assert sorted(set(y.tolist())) == list(range(10))
    images, _ = datasets.load_digits(images=True)
    assert images.shape == (1797, 1, 8, 8)
    np.testing.assert_array_equal(images.numpy().reshape(1797, 64), X.numpy())


def test_load_digits_without_sklearn_says_what_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("sklearn"):
            raise ImportError("No module named 'sklearn'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match="pip install scikit-learn"):
        datasets.load_digits()


# ---------------------------------------------------------------- IDX files and MNIST
def write_idx(path, array, compress=False):
    codes = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C}
    codes.update({np.float32: 0x0D, np.float64: 0x0E})
    header = bytes([0, 0, codes[array.dtype.type], array.ndim])
    header += np.array(array.shape, dtype=">u4").tobytes()
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    with (gzip.open if compress else open)(path, "wb") as f:
        f.write(payload)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
def test_read_idx_round_trip(tmp_path, compress, dtype):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == np.uint8:
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    path = tmp_path / ("data.idx.gz" if compress else "data.idx")
    write_idx(path, array, compress)
    out = datasets.read_idx(path)
    assert out.dtype == np.dtype(dtype) and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, array)


def test_read_idx_rejects_corrupt_files(tmp_path):
    bad_magic = tmp_path / "bad"
    bad_magic.write_bytes(b"\x01\x02\x08\x01\x00\x00\x00\x01\x05")
    with pytest.raises(ValueError, match="not an IDX file: bad magic number 01020801"):
        datasets.read_idx(bad_magic)
    bad_type = tmp_path / "bad_type"
    bad_type.write_bytes(b"\x00\x00\x07\x01\x00\x00\x00\x01\x05")
    with pytest.raises(ValueError, match="bad magic number"):
        datasets.read_idx(bad_type)
    truncated = tmp_path / "truncated"
    write_idx(truncated, np.zeros((4, 5), np.uint8))
    truncated.write_bytes(truncated.read_bytes()[:-3])
    with pytest.raises(ValueError, match=r"holds 17 data bytes but its header says \(4, 5\)"):
        datasets.read_idx(truncated)
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="not an IDX file"):
        datasets.read_idx(empty)
    broken_gzip = tmp_path / "broken.gz"
    broken_gzip.write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(ValueError, match="not a readable gzip file"):
        datasets.read_idx(broken_gzip)


def write_mnist(folder, split, n, compress, seed=0):
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    suffix = ".gz" if compress else ""
    write_idx(os.path.join(folder, f"{split}-images-idx3-ubyte{suffix}"), images, compress)
    write_idx(os.path.join(folder, f"{split}-labels-idx1-ubyte{suffix}"), labels, compress)
    return images, labels


@pytest.mark.parametrize("compress", [False, True])
def test_mnist_reads_the_standard_files(tmp_path, compress):
    images, labels = write_mnist(tmp_path, "train", 12, compress)
    test_images, _ = write_mnist(tmp_path, "t10k", 5, compress, seed=1)
    train = datasets.MNIST(tmp_path)
    assert len(train) == 12 and train.data.dtype == A.uint8 and train.data.shape == (12, 28, 28)
    assert train.targets.dtype == A.int64 and train.targets.tolist() == labels.tolist()
    image, label = train[3]
    assert image.shape == (1, 28, 28) and image.dtype == A.float32
    np.testing.assert_allclose(image.numpy()[0], images[3] / np.float32(255), rtol=1e-6)
    assert label.item() == labels[3]
    test = datasets.MNIST(tmp_path, train=False)
    assert len(test) == 5 and test.data.numpy().tolist() == test_images.tolist()


def test_mnist_in_torchvision_layout_and_fashion(tmp_path):
    write_mnist(tmp_path / "MNIST" / "raw", "train", 3, compress=True)
    write_mnist(tmp_path / "FashionMNIST" / "raw", "t10k", 4, compress=False)
    assert len(datasets.MNIST(tmp_path)) == 3
    fashion = datasets.FashionMNIST(tmp_path, train=False)
    assert len(fashion) == 4 and fashion.classes[9] == "Ankle boot"


def test_mnist_missing_files_say_what_to_put_where(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        datasets.MNIST(tmp_path)
    message = str(info.value)
    assert "train-images-idx3-ubyte[.gz]" in message and "train-labels-idx1-ubyte[.gz]" in message
    assert repr(str(tmp_path)) in message and os.path.join(str(tmp_path), "MNIST", "raw") in message
    assert "never downloads" in message
    with pytest.raises(FileNotFoundError, match="t10k-images-idx3-ubyte"):
        datasets.FashionMNIST(tmp_path, train=False)


def test_mnist_rejects_mismatched_files(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match=r"images \(N, H, W\) and labels \(N,\)"):
        datasets.MNIST(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, np.int32))
    with pytest.raises(ValueError, match="expected uint8 IDX files"):
        datasets.MNIST(tmp_path)


def test_mnist_batches_and_transforms(tmp_path):
    _, labels = write_mnist(tmp_path, "train", 10, compress=False)
    mnist = datasets.MNIST(tmp_path)
    x, y = next(iter(DataLoader(mnist, batch_size=4)))  # the TensorDataset fast path
    assert x.shape == (4, 1, 28, 28) and y.tolist() == labels[:4].tolist()
    flat = datasets.MNIST(tmp_path, transform=lambda img: img.reshape(-1), target_transform=int)
    assert not flat._batchable()
    x, y = next(iter(DataLoader(flat, batch_size=4)))
    assert x.shape == (4, 784) and y.dtype == A.int64 and y.tolist() == labels[:4].tolist()


def test_loading_is_fast_enough_for_training_loops():
    # 60,000 x 784 float32 rows in batches of 128, shuffled: one epoch should take well under a
    # second on the fast path (no per-sample Python work).
    import time

    X = A.zeros(60000, 784)
    y = A.zeros(60000, dtype=A.int64)
    loader = DataLoader(TensorDataset(X, y), batch_size=128, shuffle=True, seed=0)
    start = time.perf_counter()
    count = sum(batch[0].shape[0] for batch in loader)
    elapsed = time.perf_counter() - start
    assert count == 60000 and len(loader) == math.ceil(60000 / 128)
    assert elapsed < 5.0, elapsed


def test_no_warnings_in_plain_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        list(DataLoader(make_dataset(5), batch_size=2, shuffle=True, seed=0))
