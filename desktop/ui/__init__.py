"""Kivy building blocks shared by the screens (widgets, tables, charts)."""
