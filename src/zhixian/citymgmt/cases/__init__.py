"""Cases: intake routes, scoped queries, the workflow and its steps, photos, the case pages and home cards."""
