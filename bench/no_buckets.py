"""No buckets: BUCKET_PACKAGES for bench workers that must not backfill while
they are measured (bench/campaign.py)."""
