"""The buckets: one module per bucket, each assigning a `define_bucket(...)` to a
module-level name (see `buckets/__init__.py`). Listed by BUCKET_PACKAGES,
filtered by ENABLED_BUCKETS."""
