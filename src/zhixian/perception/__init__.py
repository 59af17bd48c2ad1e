"""城市感知 (perception): sensors that raise alarms and open cases; the county camera registry."""
