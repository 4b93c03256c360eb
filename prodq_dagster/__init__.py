"""prodq: a Dagster-native data-quality pipeline for messy product data.

``prodq_dagster.core`` holds the plain pandas/pyarrow logic; the rest of the
package wires it into daily-partitioned Dagster assets (see ``definitions.py``).
"""
