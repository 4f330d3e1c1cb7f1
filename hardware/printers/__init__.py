"""Printers: ESC/POS receipt printers (USB) and office printers through the OS."""
