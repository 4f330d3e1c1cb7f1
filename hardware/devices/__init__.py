"""Device detection (USB through pyusb)."""
