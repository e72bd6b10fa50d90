"""The numbers examples/README.md states, read from its table "Numbers the runs print".

That table is the one place the documented numbers live; ``tests/test_examples.py`` checks its
``--quick`` column against every quick run, and ``tests/test_example_numbers.py`` (``make
check-examples``, minutes) its full-run column, so the docs and the runs cannot drift apart.

A row names an example, a path into the dict its ``main()`` returns (``results / none / train``:
keys separated by " / ", integer keys written as numbers), and the values. A value is
``90.8%`` (a fraction printed as a percentage), a number (``33``, ``3.6e-9``), ``< 1e-7`` or
``> 0.1`` (a bound), or ``-`` (not stated). ``± t`` after a value widens the tolerance to ``t``
(in percentage points for percentages) where the last digits depend on the machine: see the
README's note on floating-point order. Without it, a value must match to the digits shown.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

README = Path(__file__).resolve().parent / "README.md"
HEADING = "## Numbers the runs print"
COLUMNS = {"full": 2, "quick": 3}


@dataclass(frozen=True)
class Claim:
    example: str
    path: tuple
    text: str

    def check(self, value: float) -> str | None:
        """None when ``value`` agrees with the documented text, else what differs."""
        text = self.text
        tolerance = None
        if "±" in text:
            text, _, spread = text.partition("±")
            tolerance = float(spread.strip())
        text = text.strip()
        percent = text.endswith("%")
        if text.startswith(("<", ">")):
            bound = float(text[1:].strip().rstrip("%")) / (100 if percent else 1)
            ok = value < bound if text[0] == "<" else value > bound
            return None if ok else f"{value:g} is not {text}"
        number = text.rstrip("%")
        stated = float(number)
        shown = value * 100 if percent else value
        if tolerance is None:
            tolerance = _half_last_digit(number)
        if math.isclose(shown, stated, rel_tol=0, abs_tol=tolerance + 1e-9 * abs(stated)):
            return None
        return f"the run gives {shown:.6g}{'%' if percent else ''}, the docs say {self.text}"


def _half_last_digit(number: str) -> float:
    """Half a unit of the last digit shown: ``90.5`` -> 0.05, ``3.6e-9`` -> 5e-11, ``33`` -> 0.5."""
    mantissa, _, exponent = number.lower().partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 0.5 * 10.0 ** (-decimals + (int(exponent) if exponent else 0))


def claims(column: str) -> dict[str, list[Claim]]:
    """Per example, the claims of the ``column`` ("full" or "quick") that state a value."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(HEADING)
    found: dict[str, list[Claim]] = {}
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|") or len(cells) < 4 or set(cells[0]) <= {"-", " "}:
            continue
        example = cells[0].strip("`")
        if example == "example":
            continue  # the header row
        text = cells[COLUMNS[column]]
        if text == "-":
            continue
        path = tuple(_key(k) for k in cells[1].strip("`").split(" / "))
        found.setdefault(example, []).append(Claim(example, path, text))
    return found


def _key(text: str) -> Any:
    return int(text) if re.fullmatch(r"-?\d+", text) else text


def lookup(result: dict, path: tuple) -> float:
    value: Any = result
    for key in path:
        value = value[key]
    return float(value)


def mismatches(example: str, result: dict, column: str) -> list[str]:
    """What the run of ``example`` gives that the README's ``column`` does not say."""
    problems = []
    for claim in claims(column).get(example, []):
        try:
            value = lookup(result, claim.path)
        except (KeyError, IndexError, TypeError) as exc:
            problems.append(f"{example} {' / '.join(map(str, claim.path))}: no such result ({exc})")
            continue
        problem = claim.check(value)
        if problem is not None:
            problems.append(f"{example} {' / '.join(map(str, claim.path))}: {problem}")
    return problems
