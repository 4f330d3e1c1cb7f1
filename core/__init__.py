"""Một Cửa core: the one-stop dossier workflow as a library (no UI, no USB, no web framework)."""

__version__ = "0.1.0"
