"""一网通享: the citizen portal — a sign-in realm of its own for the public, separate from staff accounts."""
