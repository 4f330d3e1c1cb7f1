"""Một Cửa central sync server and admin console."""
