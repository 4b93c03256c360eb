"""The one ``Definitions`` object of the prodq code location.

Paths, the partitions start and thresholds come from ``PRODQ_*`` environment
variables (``ProdqSettings``; see docs/configuration.md for the list).
"""

from __future__ import annotations

import warnings

import dagster as dg

from .assets import build_assets
from .core.contract import code_version
from .freshness import freshness_job, freshness_schedule, raw_partition_freshness
from .jobs import build_daily_job
from .schedules import build_daily_schedule
from .sensors import build_raw_sensor
from .partitions import daily_partitions
from .resources import ProdqIOManager, ProdqStorage
from .settings import ProdqSettings
from .assets.groups import IO_MANAGER_KEY, STORAGE_KEY

# Partitioned check specs and allow_nonexistent_upstream_partitions are preview/beta
# APIs in Dagster 1.13; they are used on purpose, so their warnings are silenced.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)


def build_definitions(settings: ProdqSettings | None = None) -> dg.Definitions:
    """The code location; ``settings`` (tests) replaces the ``PRODQ_*`` environment."""
    # Load-time values are read from plain values; the resources carry EnvVars where possible.
    loaded = settings or ProdqSettings.from_env()
    storage = ProdqStorage(settings=settings or ProdqSettings.from_env(env_vars=True))
    settings = loaded
    partitions_def = daily_partitions(settings)
    daily_job = build_daily_job(partitions_def)
    version = code_version(settings.vocabularies())
    return dg.Definitions(
        assets=build_assets(partitions_def, settings, version),
        asset_checks=[raw_partition_freshness],
        jobs=[daily_job, freshness_job],
        schedules=[build_daily_schedule(daily_job, partitions_def, settings), freshness_schedule],
        sensors=[build_raw_sensor(daily_job, partitions_def, settings)],
        resources={
            STORAGE_KEY: storage,
            IO_MANAGER_KEY: ProdqIOManager(storage=storage),
        },
    )


defs = build_definitions()
