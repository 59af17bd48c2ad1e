"""Bundled optional subsystems (自选动作), one package each; enabled per county in settings."""
