"""The core cases: per-op overhead, small dense ops, the course's 3-layer net, an MNIST-size MLP.

Each training case starts every framework from the same weights (drawn here with NumPy, in
PyTorch's layout and default initialisation range), so the three columns run the same numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import Case, StepAndArgs, register


# ------------------------------------------------------------------------------ shared setup
def init_linear(sizes: list[int], seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(weight (out, in), bias (out,))`` per layer, uniform in +-1/sqrt(in) like nn.Linear."""
    rng = np.random.default_rng(seed)
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(fan_in)
        w = rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32)
        b = rng.uniform(-bound, bound, fan_out).astype(np.float32)
        layers.append((w, b))
    return layers


def relu_mlp(api: Any, device: str, layers: list[tuple[np.ndarray, np.ndarray]]) -> Any:
    """``nn.Sequential`` of Linear layers with ReLU between them, loaded with ``layers``."""
    modules = []
    for i, (w, _) in enumerate(layers):
        if i:
            modules.append(api.nn.ReLU())
        modules.append(api.nn.Linear(w.shape[1], w.shape[0]))
    model = api.nn.Sequential(*modules).to(device)
    linears = [m for m in modules if isinstance(m, api.nn.Linear)]
    with api.no_grad():
        for module, (w, b) in zip(linears, layers):
            module.weight.copy_(api.tensor(w, device=device))
            module.bias.copy_(api.tensor(b, device=device))
    return model


def training_step(model: Any, opt: Any, loss_fn: Any) -> Any:
    """The loop body every course example runs: zero_grad, forward, loss, backward, step."""

    def step(x: Any, y: Any) -> Any:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss

    return step


def circles(n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    """Two noisy concentric circles, labels 1 for the outer one (the course's planar data)."""
    rng = np.random.default_rng(1)
    radius = np.where(np.arange(n) % 2 == 0, 1.0, 0.5)
    angle = rng.uniform(0, 2 * np.pi, n)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1) + rng.normal(0, 0.05, (n, 2))
    y = (radius > 0.75).astype(np.float32)[:, None]
    return x.astype(np.float32), y


# ------------------------------------------------------------------------------ op chains
CHAIN = 1000


def chain_add(api: Any, device: str) -> StepAndArgs:
    x = api.tensor([1.0], device=device, requires_grad=True)

    def step() -> None:
        y = x
        for _ in range(CHAIN):
            y = y + x
        y.backward()
        x.grad = None

    return step, ()


def chain_add_numpy() -> StepAndArgs:
    x = np.array([1.0], dtype=np.float32)

    def step() -> None:
        y = x
        for _ in range(CHAIN):
            y = y + x
        grad_x = np.ones_like(x)  # d y0 / dx, then one more per add
        grad_y = np.ones_like(x)
        for _ in range(CHAIN):
            grad_x = grad_x + grad_y

    return step, ()


def chain_unary(api: Any, device: str) -> StepAndArgs:
    x = api.tensor([0.3], device=device, requires_grad=True)

    def step() -> None:
        y = x
        for _ in range(CHAIN // 2):
            y = (y * 0.999).tanh()
        y.backward()
        x.grad = None

    return step, ()


def chain_unary_numpy() -> StepAndArgs:
    x = np.array([0.3], dtype=np.float32)

    def step() -> None:
        outs = []
        y = x
        for _ in range(CHAIN // 2):
            y = np.tanh(y * np.float32(0.999))
            outs.append(y)
        grad = np.ones_like(x)
        for t in reversed(outs):
            grad = grad * (1 - t * t)
            grad = grad * np.float32(0.999)

    return step, ()


def _matmul_weights() -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((64, 64), dtype=np.float32) * 0.1 for _ in range(10)]
    return weights, rng.standard_normal((32, 64), dtype=np.float32)


def matmul_chain(api: Any, device: str) -> StepAndArgs:
    weights, x0 = _matmul_weights()
    ws = [api.tensor(w, device=device, requires_grad=True) for w in weights]
    x = api.tensor(x0, device=device)

    def step() -> None:
        h = x
        for w in ws:
            h = (h @ w).tanh()
        h.sum().backward()
        for w in ws:
            w.grad = None

    return step, ()


def matmul_chain_numpy() -> StepAndArgs:
    weights, x = _matmul_weights()

    def step() -> None:
        hs = [x]
        for w in weights:
            hs.append(np.tanh(hs[-1] @ w))
        grad = np.ones_like(hs[-1])
        for i in reversed(range(len(weights))):
            grad = grad * (1 - hs[i + 1] * hs[i + 1])
            _grad_w = hs[i].T @ grad
            grad = grad @ weights[i].T

    return step, ()


# ------------------------------------------------------------------------------ training steps
COURSE_SIZES = [2, 20, 7, 1]


def course_net(api: Any, device: str) -> StepAndArgs:
    x, y = circles()
    model = relu_mlp(api, device, init_linear(COURSE_SIZES))
    opt = api.optim.SGD(model.parameters(), lr=0.1)
    step = training_step(model, opt, api.F.binary_cross_entropy_with_logits)
    return step, (api.tensor(x, device=device), api.tensor(y, device=device))


def course_net_numpy() -> StepAndArgs:
    layers = [(w.copy(), b.copy()) for w, b in init_linear(COURSE_SIZES)]
    lr = np.float32(0.1)

    def step(x: np.ndarray, y: np.ndarray) -> float:
        (w1, b1), (w2, b2), (w3, b3) = layers
        z1 = x @ w1.T + b1
        a1 = np.maximum(z1, 0)
        z2 = a1 @ w2.T + b2
        a2 = np.maximum(z2, 0)
        z3 = a2 @ w3.T + b3
        loss = np.mean(np.maximum(z3, 0) - z3 * y + np.log1p(np.exp(-np.abs(z3))))
        grad_z3 = (1 / (1 + np.exp(-z3)) - y) / np.float32(len(x))
        grad_z2 = (grad_z3 @ w3) * (z2 > 0)
        grad_z1 = (grad_z2 @ w2) * (z1 > 0)
        for w, b, grad_z, a in ((w3, b3, grad_z3, a2), (w2, b2, grad_z2, a1), (w1, b1, grad_z1, x)):
            w -= lr * (grad_z.T @ a)
            b -= lr * grad_z.sum(0)
        return float(loss)

    return step, circles()


MLP_SIZES = [784, 512, 256, 10]
MLP_BATCH = 128


def _mlp_data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((MLP_BATCH, MLP_SIZES[0]), dtype=np.float32)
    return x, rng.integers(0, MLP_SIZES[-1], MLP_BATCH)


def mlp(api: Any, device: str) -> StepAndArgs:
    x, y = _mlp_data()
    model = relu_mlp(api, device, init_linear(MLP_SIZES))
    opt = api.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    step = training_step(model, opt, api.F.cross_entropy)
    return step, (api.tensor(x, device=device), api.tensor(y, device=device))


def mlp_numpy() -> StepAndArgs:
    layers = [(w.copy(), b.copy()) for w, b in init_linear(MLP_SIZES)]
    buffers: list = [None] * (2 * len(layers))
    lr, momentum = np.float32(0.01), np.float32(0.9)

    def step(x: np.ndarray, y: np.ndarray) -> float:
        (w1, b1), (w2, b2), (w3, b3) = layers
        z1 = x @ w1.T + b1
        a1 = np.maximum(z1, 0)
        z2 = a1 @ w2.T + b2
        a2 = np.maximum(z2, 0)
        z3 = a2 @ w3.T + b3
        shifted = z3 - z3.max(1, keepdims=True)
        exp = np.exp(shifted)
        total = exp.sum(1, keepdims=True)
        rows = np.arange(len(y))
        loss = np.mean(np.log(total[:, 0]) - shifted[rows, y])
        grad_z3 = exp / total
        grad_z3[rows, y] -= 1
        grad_z3 /= np.float32(len(y))
        grad_z2 = (grad_z3 @ w3) * (z2 > 0)
        grad_z1 = (grad_z2 @ w2) * (z1 > 0)
        grads = [
            grad_z1.T @ x, grad_z1.sum(0), grad_z2.T @ a1, grad_z2.sum(0), grad_z3.T @ a2,
            grad_z3.sum(0),
        ]  # fmt: skip
        params = [w1, b1, w2, b2, w3, b3]
        for i, (p, g) in enumerate(zip(params, grads)):
            if buffers[i] is None:  # PyTorch's SGD: the first momentum buffer is the gradient
                buffers[i] = g.copy()
            else:
                buffers[i] *= momentum
                buffers[i] += g
            p -= lr * buffers[i]
        return float(loss)

    return step, _mlp_data()


register(Case("chain_add", "1,000 chained adds sharing one leaf, then backward: per-op overhead",
              chain_add, chain_add_numpy, unit="us/op", ops=CHAIN, group=10))  # fmt: skip
register(Case("chain_unary", "500 x (y * 0.999).tanh(), then backward: per-op overhead",
              chain_unary, chain_unary_numpy, unit="us/op", ops=CHAIN, group=11))  # fmt: skip
register(Case("matmul_chain", "ten 64x64 matmuls with tanh between them, batch 32, backward",
              matmul_chain, matmul_chain_numpy, group=20))  # fmt: skip
register(Case("course_net_300", "the course's 2-20-7-1 ReLU net, BCE, 300 points, SGD step",
              course_net, course_net_numpy, compilable=True, group=30))  # fmt: skip
register(Case("mlp_784_b128", "MLP 784-512-256-10 ReLU, batch 128, cross-entropy, SGD momentum",
              mlp, mlp_numpy, compilable=True, group=40))  # fmt: skip
