"""The application's screens, one module each (routes are listed in ``desktop.shell``)."""
