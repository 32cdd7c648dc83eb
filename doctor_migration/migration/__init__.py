"""The migration itself: plain Python and SQL, no Dagster. Tests call these directly."""
