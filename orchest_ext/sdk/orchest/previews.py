"""Previews of the common kinds of data: tables, arrays and images. Each returns None for data
of another kind. A library is used only when the data is one of its objects (then it is
loaded already); none is imported for data of other kinds."""

from __future__ import annotations

import base64
import io
import sys
from typing import Any

from .values import MAX_CELL_TEXT, json_safe

TABLE_ROWS = 5
TABLE_COLUMNS = 50
"""At most this many columns are listed (``shape`` counts them all)."""
EXACT_ARRAY_SIZE = 1 << 20
"""Arrays with more values get ``min`` and ``max`` of a sample of this many, in
``SAMPLE_RUNS`` evenly spaced runs (``sampled``: true), so a preview costs little beside
writing the array."""
SAMPLE_RUNS = 64
THUMBNAIL_SIDE = 128
MAX_THUMBNAIL_TEXT = 48 * 1024
"""A thumbnail whose data URL is longer is made again at half the size."""


def table_preview(data: Any) -> dict[str, Any] | None:
    """Schema, shape and first rows of a pandas, polars or Arrow table."""
    module, name = type(data).__module__.split(".")[0], type(data).__name__
    if module == "pandas" and name == "Series":
        data = data.to_frame()
    elif module == "pandas" and name == "DataFrame":
        pass
    elif module == "polars" and name == "DataFrame":
        return _polars(data)
    elif module == "pyarrow" and name in ("Table", "RecordBatch"):
        return _arrow(data)
    else:
        return None
    shown = data.iloc[:TABLE_ROWS, :TABLE_COLUMNS]
    return _table(
        [(column, str(dtype)) for column, dtype in shown.dtypes.items()],
        data.shape,
        shown.itertuples(index=False, name=None),
    )


def _polars(data: Any) -> dict[str, Any]:
    shown = data.head(TABLE_ROWS).select(data.columns[:TABLE_COLUMNS])
    return _table(
        [(column, str(dtype)) for column, dtype in zip(shown.columns, shown.dtypes, strict=True)],
        data.shape,
        shown.rows(),
    )


def _arrow(data: Any) -> dict[str, Any]:
    shown = data.slice(0, TABLE_ROWS).select(list(range(min(TABLE_COLUMNS, data.num_columns))))
    columns = [column.to_pylist() for column in shown.columns]
    return _table(
        [(field.name, str(field.type)) for field in shown.schema],
        (data.num_rows, data.num_columns),
        zip(*columns, strict=True),
    )


def _table(columns: list[tuple[Any, str]], shape: tuple[int, ...], rows: Any) -> dict[str, Any]:
    return {
        "kind": "table",
        "columns": [
            {"name": str(name)[:MAX_CELL_TEXT], "dtype": dtype[:MAX_CELL_TEXT]}
            for name, dtype in columns
        ],
        "shape": [int(size) for size in shape],
        "rows": [[json_safe(cell) for cell in row] for row in rows],
    }


def array_preview(data: Any) -> dict[str, Any] | None:
    """dtype, shape, and min and max of a numeric numpy array (exact up to
    ``EXACT_ARRAY_SIZE`` values, else of a sample)."""
    numpy = sys.modules.get("numpy")
    if numpy is None or not isinstance(data, numpy.ndarray):
        return None
    preview = {"kind": "array", "dtype": str(data.dtype), "shape": list(data.shape)}
    values = numpy.asarray(data)
    if values.size == 0 or values.dtype.kind not in "biuf":
        return {**preview, "min": None, "max": None, "sampled": False}
    sampled = values.size > EXACT_ARRAY_SIZE
    parts = _sample(numpy, values) if sampled else [values]
    if values.dtype.kind == "f":  # NaN is left out, as pandas and numpy's nanmin do
        smallest, largest = numpy.fmin.reduce, numpy.fmax.reduce
    else:
        smallest, largest = numpy.minimum.reduce, numpy.maximum.reduce
    low = smallest(numpy.asarray([smallest(part, axis=None) for part in parts]))
    high = largest(numpy.asarray([largest(part, axis=None) for part in parts]))
    return {**preview, "min": json_safe(low), "max": json_safe(high), "sampled": sampled}


def _sample(numpy: Any, values: Any) -> list[Any]:
    """About ``EXACT_ARRAY_SIZE`` values of a larger array, in parts (not copied): evenly
    spaced runs of a contiguous array, an evenly spaced grid of others."""
    if values.flags.c_contiguous or values.flags.f_contiguous:
        flat = values.ravel(order="K")  # a view of a contiguous array
        run = EXACT_ARRAY_SIZE // SAMPLE_RUNS
        starts = numpy.linspace(0, flat.size - run, SAMPLE_RUNS).astype(numpy.intp)
        return [flat[start : start + run] for start in starts]
    per_axis = max(1, int(EXACT_ARRAY_SIZE ** (1 / values.ndim)))
    grid = [
        numpy.unique(numpy.linspace(0, size - 1, min(size, per_axis)).astype(numpy.intp))
        for size in values.shape
    ]
    return [values[numpy.ix_(*grid)]]


def image_preview(data: Any) -> dict[str, Any] | None:
    """A PNG thumbnail (at most ``THUMBNAIL_SIDE`` px on the long side) of a PIL image or a
    matplotlib figure, and the image's size in pixels."""
    figure = sys.modules.get("matplotlib.figure")
    if figure is not None and isinstance(data, figure.Figure):
        width, height = data.get_size_inches()
        size = [round(width * data.dpi), round(height * data.dpi)]
        return _image(size, lambda side: _figure_png(data, side))
    pil = sys.modules.get("PIL.Image")
    if pil is not None and isinstance(data, pil.Image):
        return _image(list(data.size), lambda side: _pil_png(pil, data, side))
    return None


def _image(size: list[int], png: Any) -> dict[str, Any]:
    side = THUMBNAIL_SIDE
    while True:
        url = "data:image/png;base64," + base64.b64encode(png(side)).decode()
        if len(url) <= MAX_THUMBNAIL_TEXT or side <= 16:
            break
        side //= 2
    return {"kind": "image", "thumbnail": url, "size": size}


def _figure_png(figure: Any, side: int) -> bytes:
    width, height = figure.get_size_inches()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=side / max(width, height, 1e-3))
    return buffer.getvalue()


def _pil_png(pil: Any, image: Any, side: int) -> bytes:
    width, height = image.size
    scale = min(1.0, side / max(width, height, 1))
    small = image.resize(
        (max(1, round(width * scale)), max(1, round(height * scale))), reducing_gap=2.0
    )
    if small.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
        small = small.convert("RGBA")
    buffer = io.BytesIO()
    small.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
