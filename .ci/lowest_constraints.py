"""For the minimum-versions test run: print pip constraints pinning each of the project's
runtime dependencies to the lowest version pyproject.toml allows (its ``>=`` floor), or, with
``--test-tools``, the test extra's requirements that the fast tests need."""

from __future__ import annotations

import sys
from pathlib import Path

from packaging.requirements import Requirement

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib


def lowest_pins(pyproject: Path) -> list[str]:
    """``name==floor`` for every dependency with a ``>=`` floor."""
    dependencies = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    pins = []
    for line in dependencies:
        requirement = Requirement(line)
        floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        if floors:
            pins.append(f"{requirement.name}=={floors[0]}")
    return pins


NOT_FOR_FAST_TESTS = {"jupyterlab", "playwright", "scikit-learn", "kfp", "kfp-kubernetes", "hera"}
"""Test tools of the browser tests, the examples' and the export tests only."""


def test_tools(pyproject: Path) -> list[str]:
    """The test extra without what only browser and example tests use."""
    extra = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]["test"]
    return [line for line in extra if Requirement(line).name not in NOT_FOR_FAST_TESTS]


if __name__ == "__main__":
    pyproject = Path("pyproject.toml")
    lines = test_tools(pyproject) if "--test-tools" in sys.argv else lowest_pins(pyproject)
    print("\n".join(lines))
