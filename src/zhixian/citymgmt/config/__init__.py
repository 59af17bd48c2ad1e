"""应用维护 and base data: grids and boundaries, classes, the gazetteer, run parameters and code tables."""
