"""Services: what the desktop, the `motcua` command and the sync agent call."""
