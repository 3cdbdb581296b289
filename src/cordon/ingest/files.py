"""Read files of reads: JSON Lines (Cordon JSON or FIWARE entities), CSV, or a JSON array."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from cordon.errors import CordonError
from cordon.ingest.formats import AdapterError, csv_row_to_read

FileFormat = Literal["jsonl", "csv", "json"]
_SUFFIXES: dict[str, FileFormat] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".json": "json"}


@dataclass(frozen=True, slots=True)
class FileItem:
    """One read found in a file, or why the line could not even be parsed."""

    line: int
    data: Any
    error: str | None = None


def detect_format(path: Path, given: str = "auto") -> FileFormat:
    """The format by option, else by suffix."""
    if given != "auto":
        return given  # type: ignore[return-value]
    try:
        return _SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise CordonError(
            "unknown_format",
            f"{path}: cannot tell the format from '{path.suffix}'; use --format jsonl|csv|json",
        ) from None


def iter_items(handle: io.BufferedReader, file_format: FileFormat) -> Iterator[FileItem]:
    """Every read of a file, with its line number (1-based; for `json`, the array index + 1)."""
    if file_format == "jsonl":
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                yield FileItem(number, orjson.loads(raw))
            except orjson.JSONDecodeError as exc:
                yield FileItem(number, None, f"not valid JSON: {exc}")
    elif file_format == "csv":
        text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
        reader = csv.DictReader(text)
        try:
            for row in reader:
                try:
                    yield FileItem(reader.line_num, csv_row_to_read(row))
                except AdapterError as exc:
                    yield FileItem(reader.line_num, None, str(exc))
        except (csv.Error, UnicodeDecodeError) as exc:
            yield FileItem(reader.line_num, None, f"unreadable CSV: {exc}")
    else:
        try:
            payload = orjson.loads(handle.read())
        except orjson.JSONDecodeError as exc:
            yield FileItem(1, None, f"not valid JSON: {exc}")
            return
        for index, item in enumerate(payload if isinstance(payload, list) else [payload]):
            yield FileItem(index + 1, item)
