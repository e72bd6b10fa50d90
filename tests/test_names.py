"""tools/check_names.py: `make test` reports another package shadowing chalkgrad's names."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "tools" / "check_names.py"


def _check(tmp_path, pythonpath, *flags):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(str(p) for p in pythonpath))
    return subprocess.run(
        [sys.executable, *flags, str(SCRIPT)], cwd=tmp_path, env=env, capture_output=True, text=True
    )


def test_our_checkout_passes(tmp_path):
    done = _check(tmp_path, [ROOT])
    assert done.returncode == 0, done.stderr


def test_hips_autograd_first_on_the_path_is_reported(tmp_path):
    fake = tmp_path / "site"
    (fake / "autograd").mkdir(parents=True)
    (fake / "autograd" / "__init__.py").write_text("from .differential_operators import grad\n")
    done = _check(tmp_path, [fake, ROOT])
    assert done.returncode == 1
    assert f"autograd: imported from {fake / 'autograd' / '__init__.py'}" in done.stderr
    assert "HIPS autograd" in done.stderr and "nn:" not in done.stderr


def test_not_installed_says_how_to_install(tmp_path):
    done = _check(tmp_path, [], "-S")  # no site-packages: as an environment without chalkgrad
    assert done.returncode == 1 and "pip install -e ." in done.stderr
