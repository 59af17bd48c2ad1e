"""数字城管 (一网统管): grids, components and events, one case hub, evaluation, per GB/T 30428."""
