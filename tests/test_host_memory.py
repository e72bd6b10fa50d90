"""The CPU backend's host-memory settings (backends/host_memory.py): applied on glibc unless the
user says otherwise, and the benchmark can give every framework the same ones."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import backends.host_memory as host_memory
from benchmarks.run import same_malloc_env

ROOT = Path(__file__).resolve().parents[1]
GLIBC = (os.confstr("CS_GNU_LIBC_VERSION") or "").startswith("glibc")


def _state_in_fresh_process(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if k not in host_memory._USER_VARIABLES}
    clean.pop("CHALKGRAD_MALLOC", None)
    clean.update(env)
    code = "import backends.host_memory as h, backends; print(h.state)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_loading_the_cpu_backend_applies_the_settings_on_glibc():
    assert _state_in_fresh_process() == "applied"


@pytest.mark.parametrize("value", ["0", "false", "Off", "no"])
def test_chalkgrad_malloc_0_turns_it_off(value):
    assert _state_in_fresh_process(CHALKGRAD_MALLOC=value) == f"off (CHALKGRAD_MALLOC={value})"


@pytest.mark.skipif(not GLIBC, reason="glibc only")
def test_empty_malloc_variables_are_not_the_users_settings():
    assert _state_in_fresh_process(LD_PRELOAD="", MALLOC_TOP_PAD_="") == "applied"


@pytest.mark.parametrize("variable", ["MALLOC_TOP_PAD_", "GLIBC_TUNABLES"])
def test_the_users_own_malloc_variables_win(variable):
    state = _state_in_fresh_process(**{variable: "1"})
    assert state == f"left to the user ({variable} set)"


def test_not_applied_off_glibc(monkeypatch):
    for name in host_memory._USER_VARIABLES + ("CHALKGRAD_MALLOC",):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(host_memory, "_is_glibc", lambda: False)
    assert host_memory._apply() == "not glibc"


def test_the_benchmarks_same_malloc_option_gives_glibc_the_same_values():
    env = same_malloc_env()
    assert env == {
        "MALLOC_MMAP_THRESHOLD_": str(32 << 20),
        "MALLOC_TRIM_THRESHOLD_": str(256 << 20),
        "MALLOC_TOP_PAD_": str(64 << 20),
    }
    # glibc's environment names and mallopt's parameters describe the same settings
    params = {name: param for name, (param, _) in host_memory.SETTINGS.items()}
    assert params == {
        "MALLOC_MMAP_THRESHOLD_": host_memory.M_MMAP_THRESHOLD,
        "MALLOC_TRIM_THRESHOLD_": host_memory.M_TRIM_THRESHOLD,
        "MALLOC_TOP_PAD_": host_memory.M_TOP_PAD,
    }
