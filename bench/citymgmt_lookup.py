"""Point → grid lookups: 1M random points on 20,000 grids, STRtree vs a brute-force vectorised baseline.

.venv/bin/python bench/citymgmt_lookup.py [--points 1000000] [--grids 20000]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import shapely
from shapely.geometry import box

from zhixian.citymgmt.geo.service import build_index


def grids(n: int) -> list[str]:
    side = math.ceil(math.sqrt(n))
    size = 0.22 / side  # a county of about 22 km × 22 km
    out = []
    for i in range(n):
        r, c = divmod(i, side)
        out.append(box(120.81 + c * size, 30.73 + r * size, 120.81 + (c + 1) * size, 30.73 + (r + 1) * size).wkt)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--grids", type=int, default=20_000)
    ap.add_argument("--baseline-points", type=int, default=2_000, help="brute force is O(points × grids)")
    args = ap.parse_args()
    wkts = grids(args.grids)
    t = time.perf_counter()
    index = build_index(1, [(f"{i:015d}", "", "", w) for i, w in enumerate(wkts)], [])
    build = time.perf_counter() - t
    rng = np.random.default_rng(1)
    xmin, ymin, xmax, ymax = index.extent or (0, 0, 1, 1)
    lons = rng.uniform(xmin - 0.01, xmax + 0.01, args.points)
    lats = rng.uniform(ymin - 0.01, ymax + 0.01, args.points)
    t = time.perf_counter()
    found = index.locate_many(lons, lats)
    tree_s = time.perf_counter() - t
    # baseline: every point against every grid with vectorised contains_xy
    geoms = np.array(index.grid_geoms, dtype=object)
    for g in geoms:
        shapely.prepare(g)
    m = args.baseline_points
    t = time.perf_counter()
    brute = np.full(m, -1)
    for j, g in enumerate(geoms):
        hit = shapely.contains_xy(g, lons[:m], lats[:m])
        brute[hit & (brute < 0)] = j
    brute_s = time.perf_counter() - t
    inside = found[:m] >= 0
    agree = np.mean((found[:m] == brute) | ~inside & (brute < 0))
    single = 20_000
    t = time.perf_counter()
    for i in range(single):
        index.locate(float(lons[i]), float(lats[i]))
    single_s = time.perf_counter() - t
    print(f"grids: {args.grids:,}  index build: {build:.2f} s")
    print(f"{'method':42} {'points':>10} {'seconds':>9} {'lookups/s':>12}")
    print(f"{'STRtree vectorised (locate_many)':42} {args.points:>10,} {tree_s:>9.3f} {args.points / tree_s:>12,.0f}")
    print(
        f"{'STRtree one at a time (locate, intake path)':42} {single:>10,} {single_s:>9.3f} {single / single_s:>12,.0f}"
    )
    print(f"{'baseline brute force contains_xy':42} {m:>10,} {brute_s:>9.3f} {m / brute_s:>12,.0f}")
    print(f"agreement with baseline on {m:,} points: {agree:.4%}; points inside a grid: {np.mean(found >= 0):.1%}")
    print(f"target ≥ 500,000 lookups/s: {'met' if args.points / tree_s >= 500_000 else 'NOT met'}")


if __name__ == "__main__":
    main()
