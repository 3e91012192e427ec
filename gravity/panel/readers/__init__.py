"""Readers of trade and covariate sources, each returning a :class:`ReadResult`.

One reader per source kind (:func:`read_baci`, :func:`read_comtrade`, :func:`read_geodist`,
:func:`read_wdi`, :func:`read_generic`), each configured by its option model, and
:func:`read_source`, which dispatches on the model's ``kind``. Every reader returns the data with
canonical column names and a log of the count of every filter step; bad input raises
:class:`~gravity.exceptions.DataError` with one line naming the file, line or column and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from gravity.exceptions import ConfigError
from gravity.panel.readers._common import ReadResult
from gravity.panel.readers.baci import read_baci, read_baci_country_codes
from gravity.panel.readers.cepii import read_geodist
from gravity.panel.readers.comtrade import read_comtrade
from gravity.panel.readers.generic import read_generic
from gravity.panel.readers.sources import (
    CANONICAL_COLUMNS,
    BaciSource,
    ComtradeSource,
    GenericSource,
    GeoDistSource,
    Source,
    WdiSource,
)
from gravity.panel.readers.wdi import read_wdi

__all__ = [
    "CANONICAL_COLUMNS",
    "BaciSource",
    "ComtradeSource",
    "GenericSource",
    "GeoDistSource",
    "ReadResult",
    "Source",
    "WdiSource",
    "parse_source",
    "read_baci",
    "read_baci_country_codes",
    "read_comtrade",
    "read_generic",
    "read_geodist",
    "read_source",
    "read_wdi",
]

_SOURCE_ADAPTER: TypeAdapter[Source] = TypeAdapter(Source)


def parse_source(data: Mapping[str, Any]) -> Source:
    """Validate a mapping (a config file's source section) into its source model.

    Raises
    ------
    ConfigError
        If ``kind`` is missing or unknown, or an option is invalid; the message names the key.
    """
    try:
        return _SOURCE_ADAPTER.validate_python(dict(data))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'source'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid data source: {problems}") from exc


def read_source(source: Source | Mapping[str, Any], base_dir: Path | None = None) -> ReadResult:
    """Read any source, dispatching on its ``kind``.

    Parameters
    ----------
    source : BaciSource, ComtradeSource, GeoDistSource, WdiSource, GenericSource or mapping
        The source options; a mapping is validated first (see :func:`parse_source`).
    base_dir : pathlib.Path, optional
        Folder against which relative paths are resolved, typically the config file's folder
        (default: the working directory).

    Returns
    -------
    ReadResult
    """
    model = parse_source(source) if isinstance(source, Mapping) else source
    base = Path.cwd() if base_dir is None else Path(base_dir)
    if isinstance(model, BaciSource):
        return read_baci(model, base)
    if isinstance(model, ComtradeSource):
        return read_comtrade(model, base)
    if isinstance(model, GeoDistSource):
        return read_geodist(model, base)
    if isinstance(model, WdiSource):
        return read_wdi(model, base)
    if isinstance(model, GenericSource):
        return read_generic(model, base)
    raise ConfigError(f"unknown data source {type(model).__name__}; expected one of {Source}")
