"""The prodq asset graph: raw feeds -> clean/quarantine per entity -> metrics -> reports."""

from __future__ import annotations

import dagster as dg

from ..settings import ProdqSettings
from .entities import build_entity_assets
from .master import build_master_asset
from .metrics import build_metrics_assets
from .raw import raw_specs
from .reports import build_report_assets

def build_assets(partitions_def: dg.PartitionsDefinition, settings: ProdqSettings, version: str) -> list:
    """Every asset of the chain; ``version`` is the code version they all carry."""
    return [
        *raw_specs(partitions_def),
        *build_entity_assets(partitions_def, version),
        build_master_asset(partitions_def, version),
        build_metrics_assets(partitions_def, version),
        *build_report_assets(partitions_def, version, settings.fail_on),
    ]
