"""Shared fixtures: the devices every device-generic test runs on, and a fixed seed.

A test that takes the ``device`` fixture runs once per device: ``cpu``; ``cuda`` where CuPy sees a
GPU; and ``strict``, the test-only device of ``tests/strict_backend.py`` that refuses what CuPy
refuses (mixing with host arrays, implicit conversion to the host) and counts every transfer.
``pytest --device cuda`` (or ``CHALKGRAD_TEST_DEVICE=cuda``) runs them all on one device instead.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.find_spec("autograd")
if _spec is None or not Path(_spec.origin or "/").resolve().is_relative_to(ROOT):
    # Another package named autograd (HIPS autograd) would fail every test in confusing ways.
    pytest.exit(
        f"`import autograd` finds {_spec.origin if _spec else 'nothing'}, not {ROOT}/autograd: "
        "another package of that name (HIPS autograd) shadows chalkgrad; see README, 'A warning "
        "about names', and run `python tools/check_names.py`",
        returncode=4,
    )

import strict_backend  # noqa: E402

import autograd as A  # noqa: E402
import backends  # noqa: E402

strict_backend.register()

DEVICE_ENV = "CHALKGRAD_TEST_DEVICE"


def available_devices() -> list[str]:
    """cpu, cuda when CuPy sees a GPU, and the strict device."""
    return ["cpu"] + (["cuda"] if backends.cuda_available() else []) + [strict_backend.DEVICE]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--device",
        default=None,
        help=f"run every device-generic test on this device only: cpu, cuda, cuda:N or "
        f"{strict_backend.DEVICE} (default: all available; env {DEVICE_ENV})",
    )


def chosen_device(config: pytest.Config) -> str | None:
    return config.getoption("--device") or os.environ.get(DEVICE_ENV) or None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "devices(*names): run this device-generic test only on these device kinds"
    )
    device = chosen_device(config)
    if device is not None:
        # A bad name, or cuda without a GPU, stops the run at once with the backend's message.
        try:
            backends.get_backend(device)
        except (ValueError, RuntimeError) as exc:
            raise pytest.UsageError(f"--device {device}: {exc}") from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" not in metafunc.fixturenames:
        return
    chosen = chosen_device(metafunc.config)
    devices = [chosen] if chosen is not None else available_devices()
    marker = metafunc.definition.get_closest_marker("devices")
    if marker is not None and chosen is None:
        devices = [d for d in devices if d.split(":")[0] in marker.args]
    metafunc.parametrize("device", devices)


@pytest.fixture
def strict():
    """The strict backend, to count transfers: ``with strict.counting() as moved: ...``."""
    return backends.get_backend(strict_backend.DEVICE)


@pytest.fixture(autouse=True)
def seed():
    A.manual_seed(0)
