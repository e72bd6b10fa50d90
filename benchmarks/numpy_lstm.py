"""The LSTM training step of ``make bench`` written by hand in plain NumPy: the floor a NumPy
backend can reach (one input GEMM, a per-step hidden GEMM and gate math, backpropagation
through time with one weight-gradient GEMM, SGD). Same shapes and loss as the ``lstm`` case.

Run alone: python -m benchmarks.numpy_lstm [--repeat N]; in ``make bench`` it is the numpy column
of the ``lstm_64_256`` case (benchmarks/cases/sequence.py).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

STEPS, BATCH, INPUT, HIDDEN, OUT = 50, 32, 64, 256, 10


def _sigmoid(a: np.ndarray) -> np.ndarray:
    return 0.5 * (np.tanh(0.5 * a) + 1.0)


def lstm_step_numpy(seed: int = 0) -> Callable:
    """One training step of LSTM(64, 256) + Linear(256, 10) on the last output, MSE, SGD."""
    rng = np.random.default_rng(seed)
    steps, batch, hidden = STEPS, BATCH, HIDDEN
    x = rng.standard_normal((steps, batch, INPUT), dtype=np.float32)
    y = rng.standard_normal((batch, OUT), dtype=np.float32)
    bound = 1 / np.sqrt(hidden)
    p = {
        "w_ih": rng.uniform(-bound, bound, (4 * hidden, INPUT)).astype(np.float32),
        "w_hh": rng.uniform(-bound, bound, (4 * hidden, hidden)).astype(np.float32),
        "b": rng.uniform(-bound, bound, 4 * hidden).astype(np.float32),
        "w_o": rng.uniform(-bound, bound, (OUT, hidden)).astype(np.float32),
        "b_o": np.zeros(OUT, np.float32),
    }
    x_flat = x.reshape(steps * batch, INPUT)

    def step() -> None:
        h_size = hidden
        gx = (x_flat @ p["w_ih"].T + p["b"]).reshape(steps, batch, 4 * h_size)
        h = np.zeros((batch, h_size), np.float32)
        c = np.zeros((batch, h_size), np.float32)
        hs, cs, acts = [h], [c], []
        w_hh_t = p["w_hh"].T
        for t in range(steps):
            gates = gx[t] + h @ w_hh_t
            i = _sigmoid(gates[:, :h_size])
            f = _sigmoid(gates[:, h_size : 2 * h_size])
            g = np.tanh(gates[:, 2 * h_size : 3 * h_size])
            o = _sigmoid(gates[:, 3 * h_size :])
            c = f * c + i * g
            tanh_c = np.tanh(c)
            h = o * tanh_c
            hs.append(h)
            cs.append(c)
            acts.append((i, f, g, o, tanh_c))
        pred = h @ p["w_o"].T + p["b_o"]
        grad_pred = 2 * (pred - y) / pred.size
        grads = {"w_o": grad_pred.T @ h, "b_o": grad_pred.sum(0)}
        grad_h = grad_pred @ p["w_o"]
        grad_c = np.zeros_like(c)
        grad_gates = np.empty((steps, batch, 4 * h_size), np.float32)
        for t in range(steps - 1, -1, -1):
            i, f, g, o, tanh_c = acts[t]
            grad_c = grad_c + grad_h * o * (1 - tanh_c * tanh_c)
            dg = grad_gates[t]
            dg[:, :h_size] = grad_c * g * i * (1 - i)
            dg[:, h_size : 2 * h_size] = grad_c * cs[t] * f * (1 - f)
            dg[:, 2 * h_size : 3 * h_size] = grad_c * i * (1 - g * g)
            dg[:, 3 * h_size :] = grad_h * tanh_c * o * (1 - o)
            grad_h = dg @ p["w_hh"]
            grad_c = grad_c * f
        flat = grad_gates.reshape(steps * batch, 4 * h_size)
        grads["w_hh"] = flat.T @ np.concatenate(hs[:-1])
        grads["w_ih"] = flat.T @ x_flat
        grads["b"] = flat.sum(0)
        for name, grad in grads.items():
            p[name] -= 0.01 * grad

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    step = lstm_step_numpy()
    for _ in range(3):
        step()
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    print(f"hand-written NumPy LSTM step: {statistics.median(times) * 1e3:.2f} ms (median)")


if __name__ == "__main__":
    main()
