"""Sync: the protocol shared by the desktop and the central server, and the desktop agent.

``wire`` (strict request/response models), ``auth`` (signed requests), ``vector``
(version vectors), ``blobs`` (content addresses, chunks), ``client`` (HTTP with retries),
``agent`` (SyncAgent). No storage here: the agent talks to a ``Replica`` port that
``core.services.sync`` implements over the local store.
"""
