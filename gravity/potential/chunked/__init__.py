"""Export potential in product chunks: the model of :mod:`gravity.potential.model`, per product.

Every fixed effect of the product-level PPML is nested in a product, so the one fit over all
products separates into one small two-way PPML per product; the ease fit stays one aggregate fit.
See :mod:`gravity.potential.chunked.engine` for the passes and
:mod:`gravity.potential.chunked.store` for the resumable chunk files.
"""
