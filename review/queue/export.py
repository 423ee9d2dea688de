"""Decisions as CSV or JSON lines: the same rows for the page's download buttons and `python -m review queue export`."""
from __future__ import annotations

import csv
import json
from typing import IO, Iterable

CSV_COLUMNS = ("id", "item_id", "status", "reasons", "created_at", "decided_by", "decided_at", "decision_reason",
               "decision_note", "escalated", "instruction", "backend", "model", "requester_kind", "instruction_label",
               "instruction_categories", "output_labels", "output_categories")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def write_jsonl(rows: Iterable[dict], out: IO[str]) -> int:
    n = 0
    for row in rows:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")
        n += 1
    return n


def write_csv(rows: Iterable[dict], out: IO[str]) -> int:
    """Lists become ';'-joined text; a cell that a spreadsheet would run as a formula gets a leading quote."""
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    n = 0
    for row in rows:
        writer.writerow({k: safe_cell(row.get(k)) for k in CSV_COLUMNS})
        n += 1
    return n


def safe_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = ";".join(str(v) for v in value)
    value = str(value)
    return "'" + value if value.startswith(_FORMULA_START) else value
