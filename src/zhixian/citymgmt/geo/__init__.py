"""地理编码: point → grid → community → street, grid import and covers."""
