"""Một Cửa desktop: the Kivy application and the `motcua` command (the composition roots)."""
