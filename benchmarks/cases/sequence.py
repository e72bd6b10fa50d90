"""Sequence cases (issue 9): LSTM and GRU training steps and multi-head self-attention."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import Case, StepAndArgs, register

STEPS, BATCH, INPUT, HIDDEN = 50, 32, 64, 256


def _recurrent(api: Any, device: str, layer: str) -> StepAndArgs:
    """LSTM/GRU 64 -> 256, 50 steps, batch 32; Linear(256, 10) on the last output, MSE, SGD."""
    rng = np.random.default_rng(0)
    x = api.tensor(rng.standard_normal((STEPS, BATCH, INPUT), dtype=np.float32), device=device)
    y = api.tensor(rng.standard_normal((BATCH, 10), dtype=np.float32), device=device)
    api.manual_seed(0)
    rnn = getattr(api.nn, layer)(INPUT, HIDDEN).to(device)
    head = api.nn.Linear(HIDDEN, 10).to(device)
    opt = api.optim.SGD(list(rnn.parameters()) + list(head.parameters()), lr=0.01)

    def step(x: Any, y: Any) -> Any:
        opt.zero_grad()
        out, _ = rnn(x)
        loss = api.F.mse_loss(head(out[-1]), y)
        loss.backward()
        opt.step()
        return loss

    return step, (x, y)


def lstm(api: Any, device: str) -> StepAndArgs:
    return _recurrent(api, device, "LSTM")


def gru(api: Any, device: str) -> StepAndArgs:
    return _recurrent(api, device, "GRU")


def lstm_numpy() -> StepAndArgs:
    """The same LSTM step by hand (benchmarks/numpy_lstm.py)."""
    from ..numpy_lstm import lstm_step_numpy

    return lstm_step_numpy(), ()


def attention(api: Any, device: str) -> StepAndArgs:
    """Self-attention, batch 32, 8 heads, seq 128, d 256 (MultiheadAttention), fwd + bwd."""
    rng = np.random.default_rng(0)
    x = api.tensor(rng.standard_normal((32, 128, 256), dtype=np.float32), device=device)
    api.manual_seed(0)
    mha = api.nn.MultiheadAttention(256, 8, batch_first=True).to(device)

    def step() -> None:
        mha.zero_grad()
        out, _ = mha(x, x, x, need_weights=False)
        out.sum().backward()

    return step, ()


register(Case("lstm_64_256", "LSTM 64->256, seq 50, batch 32, SGD step", lstm, lstm_numpy,
              group=70))  # fmt: skip
register(Case("gru_64_256", "GRU 64->256, seq 50, batch 32, SGD step", gru, group=71))
register(Case("attention_b32", "MultiheadAttention d 256, 8 heads, seq 128, batch 32, fwd+bwd",
              attention, group=72))  # fmt: skip
