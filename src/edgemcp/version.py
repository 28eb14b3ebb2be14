"""The package version: one place, read by the build (pyproject.toml) and at run time."""

__version__ = "0.1.0"
