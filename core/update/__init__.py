"""Signed self-update with rollback, on The Update Framework (python-tuf).

The centre signs releases (``repository``): root and targets keys stay offline with the
admin, snapshot and timestamp keys live on the sync server, which serves the repository
read-only. A desk checks after a sync (``client``), downloads and verifies a newer
bundle, unpacks it beside the others and stages it; the launcher (``launcher``) switches
to it at the next start and goes back to the previous version by itself when the new
one never reaches its login screen. Branch IT pins a version; old unsynced events hold
an update until someone confirms it (``guard``).

``launcher`` and ``state`` import nothing heavy: the frozen programs run them first.
"""
