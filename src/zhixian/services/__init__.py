"""一网通办 (the staff side): the matter catalogue, electronic licences, applications taken in at a window, 好差评."""
