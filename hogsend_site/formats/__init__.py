"""Date formats for English (FORMAT_MODULE_PATH): every datetime Django renders
by default (admin lists, read-only fields) names its zone."""
