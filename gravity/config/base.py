"""Base class for every options object: frozen, strict, and usable as a config-file schema."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Frozen pydantic model that rejects unknown keys.

    Every option group in gravity (estimator options, data sources, report settings) derives from
    this class, so the same object validates a YAML config section and a Python call.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, use_attribute_docstrings=True
    )
