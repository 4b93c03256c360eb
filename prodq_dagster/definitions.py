"""The one ``Definitions`` object of the prodq code location.

Paths, the partitions start and thresholds come from ``PRODQ_*`` environment
variables when the code location loads (see the README for the list).
"""

from __future__ import annotations

import warnings

import dagster as dg

from .assets import build_assets
from .core.config import Settings
from .core.contract import code_version
from .core.vocab import load_vocabularies
from .freshness import freshness_job, freshness_schedule, raw_partition_freshness
from .jobs import build_daily_job
from .schedules import build_daily_schedule
from .sensors import build_raw_sensor
from .partitions import daily_partitions
from .resources import PartitionedParquetIOManager, ProdqConfig
from .assets.groups import CONFIG_KEY, IO_MANAGER_KEY

# Partitioned check specs and allow_nonexistent_upstream_partitions are preview/beta
# APIs in Dagster 1.13; they are used on purpose, so their warnings are silenced.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
warnings.filterwarnings("ignore", category=dg.PreviewWarning)


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    settings = settings or Settings.from_env()
    partitions_def = daily_partitions(settings)
    daily_job = build_daily_job(partitions_def)
    version = code_version(load_vocabularies(settings.vocab_dir or None))
    return dg.Definitions(
        assets=build_assets(partitions_def, settings, version),
        asset_checks=[raw_partition_freshness],
        jobs=[daily_job, freshness_job],
        schedules=[build_daily_schedule(daily_job, partitions_def, settings), freshness_schedule],
        sensors=[build_raw_sensor(daily_job, partitions_def, settings)],
        resources={
            CONFIG_KEY: ProdqConfig.from_settings(settings),
            IO_MANAGER_KEY: PartitionedParquetIOManager(base_dir=settings.out_dir),
        },
    )


defs = build_definitions()
