"""Athena's table-property allow-list and how each key maps onto Iceberg table properties."""

from __future__ import annotations

from oaklake.errors import InvalidProperty, NotSupported

DEFAULTS: dict[str, str] = {
    "table_type": "ICEBERG",
    "format": "parquet",
    "write_compression": "zstd",
    "write_target_data_file_size_bytes": str(512 * 1024 * 1024),
    "optimize_rewrite_min_data_file_size_bytes": str(int(0.75 * 512 * 1024 * 1024)),
    "optimize_rewrite_max_data_file_size_bytes": str(int(1.8 * 512 * 1024 * 1024)),
    "optimize_rewrite_data_file_threshold": "5",
    "optimize_rewrite_delete_file_threshold": "2",
    "vacuum_min_snapshots_to_keep": "1",
    "vacuum_max_snapshot_age_seconds": "432000",
    "vacuum_max_metadata_files_to_keep": "100",
}
ALLOWED = frozenset(DEFAULTS) | {"comment"}
_INTEGER_KEYS = {k for k, v in DEFAULTS.items() if v.isdigit()}
_COMPRESSIONS = {"zstd", "snappy", "gzip", "lz4", "none", "uncompressed"}

# Where a key has an Iceberg-native twin, write both so other engines honour it too.
ICEBERG_TWINS = {
    "write_compression": "write.parquet.compression-codec",
    "write_target_data_file_size_bytes": "write.target-file-size-bytes",
    "vacuum_max_metadata_files_to_keep": "write.metadata.previous-versions-max",
    "vacuum_min_snapshots_to_keep": "history.expire.min-snapshots-to-keep",
}
# CTAS WITH (...) keys that are not table properties.
CTAS_ONLY = {
    "is_external",
    "location",
    "partitioning",
    "external_location",
    "bucketed_by",
    "bucket_count",
    "partitioned_by",
}


def validate(props: dict[str, str], *, for_create: bool) -> dict[str, str]:
    """Check keys and values; return the Iceberg properties to store (Athena keys + twins)."""
    out: dict[str, str] = {}
    for raw_key, raw_value in props.items():
        key = raw_key.lower()
        value = str(raw_value)
        if key not in ALLOWED:
            raise InvalidProperty(
                f"Unsupported table property key: {raw_key}",
                hint="allowed keys: " + ", ".join(sorted(ALLOWED)),
            )
        if key == "table_type":
            if value.upper() != "ICEBERG":
                raise NotSupported(
                    f"table_type {value!r} is not supported", hint="oaklake tables are ICEBERG"
                )
            if not for_create:
                raise InvalidProperty("table_type cannot be changed after creation")
            continue
        if key == "format":
            if value.lower() != "parquet":
                raise NotSupported(
                    f"format {value!r} is not supported yet",
                    hint="oaklake writes Parquet; leave format out or set 'parquet'",
                )
            value = "parquet"
        elif key == "write_compression":
            if value.lower() not in _COMPRESSIONS:
                raise InvalidProperty(
                    f"write_compression {value!r} is not supported",
                    hint="use one of " + ", ".join(sorted(_COMPRESSIONS)),
                )
            value = value.lower()
        elif key in _INTEGER_KEYS and (not value.isdigit() or int(value) < 0):
            raise InvalidProperty(
                f"table property {key} must be a non-negative integer, got {value!r}"
            )
        out[key] = value
        twin = ICEBERG_TWINS.get(key)
        if twin:
            out[twin] = "uncompressed" if value == "none" else value
    return out


def athena_view(props: dict[str, str]) -> dict[str, str]:
    """The supported keys only, as SHOW TBLPROPERTIES prints them."""
    shown = {"table_type": "ICEBERG", "format": "parquet"}
    shown.update({k: v for k, v in props.items() if k in ALLOWED})
    return dict(sorted(shown.items()))
