"""Open311 GeoReport v2: the public citizen interface and what it publishes."""
