"""Devices on the USB bus, classified, and the watcher that notices plug and unplug."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable


class DeviceKind(StrEnum):
    SCANNER = "scanner"
    PRINTER = "printer"
    RECEIPT_PRINTER = "receipt_printer"
    CODE_READER = "code_reader"
    OTHER = "other"


@dataclass(frozen=True)
class UsbDeviceInfo:
    vendor_id: int
    product_id: int
    bus: int
    address: int
    kinds: frozenset[DeviceKind]
    ipp_usb: bool = False  # an IPP-over-USB interface (class 7/1/4): driverless, eSCL inside
    manufacturer: str = ""
    product: str = ""
    serial: str = ""
    accessible: bool = True  # False when the OS refused to open it (permissions)

    @property
    def id(self) -> str:
        return f"usb:{self.vendor_id:04x}:{self.product_id:04x}@{self.bus}.{self.address}"

    @property
    def vid_pid(self) -> str:
        return f"{self.vendor_id:04x}:{self.product_id:04x}"


class Change(StrEnum):
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True)
class DeviceEvent:
    change: Change
    device: UsbDeviceInfo


@runtime_checkable
class DeviceWatcher(Protocol):
    def snapshot(self) -> list[UsbDeviceInfo]:
        """Every device attached now."""
        ...

    def poll(self) -> list[DeviceEvent]:
        """What was plugged or unplugged since the previous call."""
        ...
