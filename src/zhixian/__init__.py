"""智县 zhixian: a county smart-city platform."""
