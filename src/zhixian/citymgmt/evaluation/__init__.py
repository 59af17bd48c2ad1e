"""综合评价 (GB/T 30428.4): indicators for any period, their routes and export."""
