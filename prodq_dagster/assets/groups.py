"""Asset group names shown in the Dagster UI."""

RAW_GROUP = "raw"
INGEST_GROUP = "ingest"
METRICS_GROUP = "metrics"
REPORTS_GROUP = "reports"

IO_MANAGER_KEY = "parquet_io_manager"
# Assets receive the storage resource as a parameter of this name.
STORAGE_KEY = "prodq_storage"
