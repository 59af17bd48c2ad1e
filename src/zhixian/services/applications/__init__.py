"""办件: intake at the window, materials satisfied without copies, the steps to 办结."""
