"""prodq core: plain pandas/pyarrow data-quality logic (no Dagster import).

Reading raw CSV feeds, normalization, the rule catalogue, dedupe, metrics,
alerts and reports live here; the Dagster layer only wires these together.
"""
