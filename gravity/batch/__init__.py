"""Batch re-estimation: many jobs (fits now, potential scoring later) over a grid, resumable.

The schema is imported first on purpose: the run config embeds :class:`BatchOptions` and the
batch options embed :class:`~gravity.config.schema.ModelConfig`, so importing the schema before
any batch module keeps one import order whichever of the two a caller imports first.
"""

import gravity.config.schema  # noqa: F401  (import order, see above)
