"""好差评: ratings, rectification of bad ones, statistics."""
