"""Shared fixtures: the devices every device-generic test runs on, and a fixed seed."""

import pytest

import autograd as A
import backends

# CUDA joins the list only where CuPy sees a GPU, so the same tests run there unchanged.
devices = ["cpu"] + (["cuda"] if backends.cuda_available() else [])


@pytest.fixture(params=devices)
def device(request):
    return request.param


@pytest.fixture(autouse=True)
def seed():
    A.manual_seed(0)
