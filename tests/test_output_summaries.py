"""The step API's output summaries stay small whatever the data (64 KB at most, thumbnails of
128 px at most, large arrays sampled), and writing one never raises."""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from orchest_ext.executors.base import STEP_SDK_PATH

sys.path.insert(0, str(STEP_SDK_PATH))

from orchest.summary import MAX_SUMMARY_BYTES, summarize, write_summary


def size(summary: dict) -> int:
    return len(json.dumps(summary, allow_nan=False).encode())


def test_a_wide_table_of_long_texts_lists_50_columns_of_cut_cells() -> None:
    frame = pd.DataFrame({f"column {i}": ["x" * 5000] * 20 for i in range(3000)})
    summary = summarize(frame, "wide", 0)
    preview = summary["preview"]
    assert preview["shape"] == [20, 3000] and len(preview["columns"]) == 50
    assert [len(row) for row in preview["rows"]] == [50] * 5
    assert preview["rows"][0][0] == "x" * 100
    assert size(summary) <= MAX_SUMMARY_BYTES


def test_a_noisy_large_image_gets_a_small_thumbnail() -> None:
    noise = np.random.default_rng(0).integers(0, 256, (3000, 2000, 4), dtype=np.uint8)
    summary = summarize(Image.fromarray(noise, "RGBA"), None, 0)
    preview = summary["preview"]
    assert preview["size"] == [2000, 3000]
    png = base64.b64decode(preview["thumbnail"].split(",", 1)[1])
    thumbnail = Image.open(io.BytesIO(png))
    assert max(thumbnail.size) <= 128 and thumbnail.format == "PNG"
    assert size(summary) <= MAX_SUMMARY_BYTES


@pytest.mark.parametrize("contiguous", [True, False])
def test_min_and_max_of_a_large_array_come_from_a_sample(contiguous: bool) -> None:
    values = np.arange(6_000_000, dtype=np.float64).reshape(3000, 2000)
    if not contiguous:
        values = values[:, ::2]
    preview = summarize(values, None, 0)["preview"]
    assert preview["sampled"] is True
    assert preview["shape"] == list(values.shape) and preview["dtype"] == "float64"
    assert preview["min"] == 0.0
    assert values.max() * 0.99 <= preview["max"] <= values.max()


def test_nan_is_left_out_of_min_and_max_and_an_all_nan_array_has_none() -> None:
    assert summarize(np.array([np.nan, 2.0, -1.0]), None, 0)["preview"]["min"] == -1.0
    preview = summarize(np.full(4, np.nan), None, 0)["preview"]
    assert preview["min"] is None and preview["max"] is None


def test_a_huge_name_and_value_keep_the_summary_under_the_limit() -> None:
    summary = summarize({"k": "v" * 100_000}, "n" * 100_000, 0)
    assert size(summary) <= MAX_SUMMARY_BYTES
    assert summary["preview"] is None and "larger than 64 KB" in summary["preview_error"]


def test_a_summary_that_cannot_be_written_is_left_out_with_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "gone"
    write_summary(missing, [missing / "data.json"], 1, "x", "1")
    assert "orchest: no summary of output 'x'" in capsys.readouterr().err
    assert not missing.exists()


def test_large_containers_and_bytes_are_shown_by_their_first_items() -> None:
    shown = {
        "set": set(range(1_000_000)),
        "dict": {(i, i): i for i in range(1_000_000)},
        "bytes": b"x" * 10_000_000,
    }
    texts = {name: summarize(data, None, 0)["preview"]["text"] for name, data in shown.items()}
    assert texts["set"] == "{0, 1, 2, 3, 4, 5, ...}"
    assert texts["dict"] == "{(0, 0): 0, (1, 1): 1, (2, 2): 2, (3, 3): 3, ...}"
    assert texts["bytes"].startswith("b'xxx") and len(texts["bytes"]) == 200
