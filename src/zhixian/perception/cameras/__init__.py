"""视频共享: the county camera registry (GB/T 28181), department grants, signed play tokens and media-server hooks."""
