"""Shared fixtures: the devices every device-generic test runs on, and a fixed seed."""

import importlib.util
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

import autograd as A  # noqa: E402
import backends  # noqa: E402

# CUDA joins the list only where CuPy sees a GPU, so the same tests run there unchanged.
devices = ["cpu"] + (["cuda"] if backends.cuda_available() else [])


@pytest.fixture(params=devices)
def device(request):
    return request.param


@pytest.fixture(autouse=True)
def seed():
    A.manual_seed(0)
