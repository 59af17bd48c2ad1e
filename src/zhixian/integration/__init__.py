"""有限范围内的数据整合: connectors, the import pipeline with quarantine, and the base databases."""

from __future__ import annotations

from zhixian.subsystems import Subsystem

subsystem = Subsystem(
    code="integration",
    name="数据整合",
    kind="core",
    description="数据源连接、清洗校验、隔离区、人口/法人/地理基础库、数据质量",
    standard="GB 11643、GB 32100、GB/T 35273-2020",
    depends_on=("platform", "catalog"),
)
