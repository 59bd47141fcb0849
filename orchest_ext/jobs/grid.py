"""Parameter grids: lists of values for pipeline and step parameters, one run per
combination, each combination in Orchest's override format."""

from __future__ import annotations

import copy
import itertools
import math
from typing import Any

from .request import JobRequestError


def grid_size(grid: dict[str, dict[str, list[Any]]]) -> int:
    """How many runs a (validated) grid makes."""
    return math.prod(len(values) for params in grid.values() for values in params.values())


def check_grid(grid: Any, limit: int, field: str = "parameter_grid") -> dict:
    """A grid ``{"pipeline_parameters" | step uuid or title: {name: [values...]}}`` with at
    least one value per list and at most ``limit`` combinations."""
    if not isinstance(grid, dict):
        raise JobRequestError(field, "must be an object of {name: [values]} per step")
    if not grid:
        raise JobRequestError(field, "is empty; leave it out for a single run")
    for key, params in grid.items():
        if not isinstance(params, dict) or not params:
            raise JobRequestError(f"{field}.{key}", "must be a non-empty object of value lists")
        for name, values in params.items():
            if not isinstance(values, list) or not values:
                raise JobRequestError(f"{field}.{key}.{name}", "must be a non-empty list")
    size = grid_size(grid)
    if size > limit:
        raise JobRequestError(
            field, f"makes {size} runs, more than the limit of {limit} (OrchestApp.job_max_runs)"
        )
    return grid


def combinations(
    grid: dict[str, dict[str, list[Any]]], fixed: dict[str, dict[str, Any]]
) -> list[dict[str, dict[str, Any]]]:
    """Every combination of the grid's values over the ``fixed`` overrides (one, without a
    grid), in a stable order: the last parameter varies fastest."""
    keys = [(key, name) for key, params in grid.items() for name in params]
    combos = []
    for values in itertools.product(*(grid[key][name] for key, name in keys)):
        overrides = copy.deepcopy(fixed)
        for (key, name), value in zip(keys, values, strict=True):
            overrides.setdefault(key, {})[name] = value
        combos.append(overrides)
    return combos
