"""The service layer: the only code that commits, and the bridge to ``analysis/``."""
