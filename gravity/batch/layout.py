"""Names and contents of the files of a finished job (``OUTPUT/batch/jobs/KEY/``).

Workers encode a finished job's files (:func:`encode_job_files`), so the serialisation runs in
parallel; the main process only writes the bytes and renames the folder into place.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import numpy as np

from gravity.batch.jobs import Job, JobOutput
from gravity.layout import TEMP_PREFIX

__all__ = ["JOB_FILES", "TEMP_PREFIX", "encode_job_files", "job_files_complete", "read_record"]

JOB_FILES: Final = ("job.json", "result.parquet")
"""Files of a finished job: its description and record, and its rows of ``results.parquet``."""
_PARQUET_MAGIC: Final = b"PAR1"


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def encode_job_files(
    job: Job, output: JobOutput, record: dict[str, Any]
) -> tuple[tuple[str, bytes], ...]:
    """Contents of ``job.json`` (spec, slice, index record, details) and ``result.parquet``."""
    description = {
        "key": job.key,
        "kind": job.kind,
        "spec_name": job.spec_name,
        "spec": job.spec.model_dump(mode="json"),
        "slice": {
            **job.slice.identity(),
            "product_label": job.slice.product_label,
            "exporter_label": job.slice.exporter_label,
        },
        "record": record,
        "details": output.details,
    }
    text = json.dumps(description, indent=2, default=_json_default) + "\n"
    return (
        (JOB_FILES[0], text.encode("utf-8")),
        (JOB_FILES[1], output.table.to_parquet(index=False)),
    )


def read_record(folder: Path) -> dict[str, Any] | None:
    """The index record kept in ``folder/job.json``, or None if the file is missing or damaged."""
    try:
        record = json.loads((folder / JOB_FILES[0]).read_text(encoding="utf-8"))["record"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return record if isinstance(record, dict) else None


def job_files_complete(folder: Path) -> bool:
    """Whether ``folder`` holds a readable ``job.json`` and a whole ``result.parquet``.

    Folders are renamed into place only once written, so an incomplete one can only come from a
    machine crash before the data reached the disk; such a job is run again.
    """
    parquet = folder / JOB_FILES[1]
    try:
        size = parquet.stat().st_size
        with parquet.open("rb") as handle:
            head = handle.read(4)
            handle.seek(max(size - 4, 0))
            tail = handle.read(4)
    except OSError:
        return False
    whole = size >= 12 and head == _PARQUET_MAGIC and tail == _PARQUET_MAGIC
    return whole and read_record(folder) is not None
