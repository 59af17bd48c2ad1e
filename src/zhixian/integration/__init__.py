"""有限范围内的数据整合: connectors, the import pipeline with quarantine, and the base databases."""
