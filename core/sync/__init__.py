"""Sync: the replication protocol shared by desktops and the server, and the desktop agent."""
