"""Asset group names shown in the Dagster UI."""

RAW_GROUP = "raw"
INGEST_GROUP = "ingest"
METRICS_GROUP = "metrics"
REPORTS_GROUP = "reports"

IO_MANAGER_KEY = "parquet_io_manager"
CONFIG_KEY = "prodq"
