"""政务信息资源目录: the county's government data resource catalogue and business-system registry."""
