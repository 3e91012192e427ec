"""Batch re-estimation: many jobs (fits now, potential scoring later) over a grid, resumable."""
