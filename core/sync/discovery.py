"""LAN discovery with zeroconf (mDNS/DNS-SD): ``_motcua._tcp.local.``.

Each desktop advertises its peer server with a TXT record: protocol version, branch,
device id and key fingerprint. What mDNS says is only a hint: the exchange itself checks
the peer (its key must be the one the centre enrolled, every answer is signed) and proves
it alive. A hint of another branch or protocol is ignored.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceListener, Zeroconf

from core.domain.signing import fingerprint

from .wire import PEER_PROTOCOL

SERVICE_TYPE = "_motcua._tcp.local."


@dataclass(frozen=True)
class PeerHint:
    """A peer as mDNS announced it."""

    device_id: str
    branch: str
    fingerprint: str
    protocol: int
    addresses: tuple[str, ...]
    port: int

    @property
    def address(self) -> str:
        return f"{self.addresses[0]}:{self.port}"


def txt_record(device_id: str, branch: str, public_key: str) -> dict[str, str]:
    return {
        "proto": str(PEER_PROTOCOL),
        "branch": branch,
        "device": device_id,
        "fp": fingerprint(public_key),
    }


def instance_name(device_id: str) -> str:
    return f"motcua-{device_id[:40]}.{SERVICE_TYPE}"


def hint_of(info: ServiceInfo) -> PeerHint | None:
    """The hint a service record gives, or None when it is not a usable Một Cửa peer."""
    props = {
        (k.decode(errors="replace") if isinstance(k, bytes) else str(k)): (
            v.decode(errors="replace") if isinstance(v, bytes) else ""
        )
        for k, v in (info.properties or {}).items()
    }
    addresses = tuple(info.parsed_scoped_addresses(IPVersion.V4Only)) or tuple(
        info.parsed_scoped_addresses()
    )
    if not (props.get("proto", "").isdigit() and props.get("device") and addresses and info.port):
        return None
    return PeerHint(
        device_id=props["device"],
        branch=props.get("branch", ""),
        fingerprint=props.get("fp", ""),
        protocol=int(props["proto"]),
        addresses=addresses,
        port=int(info.port),
    )


class Advertiser:
    """Announce this desktop's peer server on the LAN until ``close()``."""

    def __init__(
        self,
        device_id: str,
        branch: str,
        public_key: str,
        port: int,
        addresses: Sequence[str] = (),
        zc: Zeroconf | None = None,
    ) -> None:
        self.zc = zc or Zeroconf()
        self._own = zc is None
        self.info = ServiceInfo(
            SERVICE_TYPE,
            instance_name(device_id),
            port=port,
            properties=txt_record(device_id, branch, public_key),
            server=f"motcua-{device_id[:40]}.local.",
            parsed_addresses=list(addresses) or _local_addresses(),
        )
        self.zc.register_service(self.info, allow_name_change=True)

    def close(self) -> None:
        try:
            self.zc.unregister_service(self.info)
        finally:
            if self._own:
                self.zc.close()


class Browser:
    """Collect peer hints of one branch (``branch`` None: of any unit — the peers of other
    units, for transfers), as mDNS announces them, until ``close()``."""

    def __init__(
        self, branch: str | None, own_device: str = "", zc: Zeroconf | None = None
    ) -> None:
        self.branch = branch
        self.own_device = own_device
        self.zc = zc or Zeroconf()
        self._own = zc is None
        self._hints: dict[str, PeerHint] = {}
        self._lock = threading.Lock()
        self._changed = threading.Event()
        self._browser = ServiceBrowser(self.zc, SERVICE_TYPE, listener=_Listener(self))

    def _resolve(self, zc: Zeroconf, type_: str, name: str) -> None:
        info = zc.get_service_info(type_, name, timeout=3000)
        hint = hint_of(info) if info is not None else None
        if hint is None or hint.device_id == self.own_device:
            return
        if self.branch not in (None, hint.branch) or hint.protocol != PEER_PROTOCOL:
            return
        with self._lock:
            self._hints[name] = hint
        self._changed.set()

    def _forget(self, name: str) -> None:
        with self._lock:
            self._hints.pop(name, None)

    def hints(self) -> list[PeerHint]:
        with self._lock:
            return sorted(self._hints.values(), key=lambda h: h.device_id)

    def wait(self, timeout_s: float) -> list[PeerHint]:
        """The hints after at least one arrived, or after `timeout_s`."""
        if not self.hints():
            self._changed.wait(timeout_s)
        return self.hints()

    def close(self) -> None:
        self._browser.cancel()
        if self._own:
            self.zc.close()


class _Listener(ServiceListener):
    def __init__(self, browser: Browser) -> None:
        self.browser = browser

    def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.browser._resolve(zc, type_, name)

    def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.browser._resolve(zc, type_, name)

    def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
        self.browser._forget(name)


def _local_addresses() -> list[str]:
    """This host's IPv4 addresses but loopback (best effort, for the announcement)."""
    import ifaddr  # zeroconf's own dependency

    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if isinstance(ip.ip, str) and not ip.ip.startswith("127."):
                found.append(ip.ip)
    return found or ["127.0.0.1"]
