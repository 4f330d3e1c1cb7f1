"""A recording pyusb backend for tests: devices plug and unplug, bulk writes are kept.

``RecordingUsbBackend`` implements ``usb.backend.IBackend`` so pyusb (and python-escpos
on top of it) run their real code paths against it. It is never used outside tests.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

import usb.backend
import usb.core


@dataclass
class FakeInterface:
    cls: int
    subclass: int = 0
    protocol: int = 0
    endpoints: tuple[tuple[int, int], ...] = ((0x01, 2), (0x82, 2))  # (address, bulk)


@dataclass
class FakeDevice:
    vendor_id: int
    product_id: int
    interfaces: tuple[FakeInterface, ...]
    strings: tuple[str, str, str] = ("Maker", "Product", "SN1")
    bus: int = 1
    address: int = 2
    denied: bool = False  # opening fails with EACCES, as without udev rules
    writes: list[tuple[int, bytes]] = field(default_factory=list)
    gone: bool = False


@dataclass
class _Desc:
    """A descriptor: pyusb reads its fields as attributes."""

    values: dict[str, object]

    def __getattr__(self, name: str) -> object:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


class RecordingUsbBackend(usb.backend.IBackend):  # type: ignore[misc]
    def __init__(self) -> None:
        self.devices: list[FakeDevice] = []

    # -- test controls -------------------------------------------------------------

    def plug(self, device: FakeDevice) -> FakeDevice:
        self.devices.append(device)
        return device

    def unplug(self, device: FakeDevice) -> None:
        device.gone = True
        self.devices.remove(device)

    # -- IBackend --------------------------------------------------------------------

    def enumerate_devices(self):  # type: ignore[no-untyped-def]
        return iter(list(self.devices))

    def get_device_descriptor(self, dev: FakeDevice) -> _Desc:
        return _Desc(
            {
                "bLength": 18,
                "bDescriptorType": 1,
                "bcdUSB": 0x0200,
                "bDeviceClass": 0,
                "bDeviceSubClass": 0,
                "bDeviceProtocol": 0,
                "bMaxPacketSize0": 64,
                "idVendor": dev.vendor_id,
                "idProduct": dev.product_id,
                "bcdDevice": 0x0100,
                "iManufacturer": 1,
                "iProduct": 2,
                "iSerialNumber": 3,
                "bNumConfigurations": 1,
                "address": dev.address,
                "bus": dev.bus,
                "port_number": 1,
                "port_numbers": (1,),
                "speed": 3,
            }
        )

    def get_configuration_descriptor(self, dev: FakeDevice, config: int) -> _Desc:
        return _Desc(
            {
                "bLength": 9,
                "bDescriptorType": 2,
                "wTotalLength": 32,
                "bNumInterfaces": len(dev.interfaces),
                "bConfigurationValue": 1,
                "iConfiguration": 0,
                "bmAttributes": 0xC0,
                "bMaxPower": 50,
                "extra_descriptors": [],
            }
        )

    def get_interface_descriptor(self, dev: FakeDevice, intf: int, alt: int, config: int) -> _Desc:
        if alt > 0:
            raise IndexError(alt)  # one alternate setting per interface; pyusb stops here
        interface = dev.interfaces[intf]
        return _Desc(
            {
                "bLength": 9,
                "bDescriptorType": 4,
                "bInterfaceNumber": intf,
                "bAlternateSetting": 0,
                "bNumEndpoints": len(interface.endpoints),
                "bInterfaceClass": interface.cls,
                "bInterfaceSubClass": interface.subclass,
                "bInterfaceProtocol": interface.protocol,
                "iInterface": 0,
                "extra_descriptors": [],
            }
        )

    def get_endpoint_descriptor(
        self, dev: FakeDevice, ep: int, intf: int, alt: int, config: int
    ) -> _Desc:
        address, kind = dev.interfaces[intf].endpoints[ep]
        return _Desc(
            {
                "bLength": 7,
                "bDescriptorType": 5,
                "bEndpointAddress": address,
                "bmAttributes": kind,
                "wMaxPacketSize": 64,
                "bInterval": 0,
                "bRefresh": 0,
                "bSynchAddress": 0,
                "extra_descriptors": [],
            }
        )

    def open_device(self, dev: FakeDevice) -> FakeDevice:
        if dev.denied:
            raise usb.core.USBError("Access denied (insufficient permissions)", 13, errno.EACCES)
        return dev

    def close_device(self, dev_handle: FakeDevice) -> None:
        return

    def set_configuration(self, dev_handle: FakeDevice, config_value: int) -> None:
        return

    def get_configuration(self, dev_handle: FakeDevice) -> int:
        return 1

    def claim_interface(self, dev_handle: FakeDevice, intf: int) -> None:
        return

    def release_interface(self, dev_handle: FakeDevice, intf: int) -> None:
        return

    def reset_device(self, dev_handle: FakeDevice) -> None:
        return

    def bulk_write(
        self, dev_handle: FakeDevice, ep: int, intf: int, data: object, timeout: int
    ) -> int:
        if dev_handle.gone:
            raise usb.core.USBError("No such device (it may have been disconnected)", 19, 19)
        chunk = bytes(data)  # type: ignore[call-overload]
        dev_handle.writes.append((ep, chunk))
        return len(chunk)

    def ctrl_transfer(  # type: ignore[no-untyped-def]
        self, dev_handle: FakeDevice, bm_request_type, b_request, w_value, w_index, data, timeout
    ) -> int:
        """Answers GET_DESCRIPTOR for strings: language list and the three names."""
        index = w_value & 0xFF
        if b_request != 6 or (w_value >> 8) != 3:
            return 0
        if index == 0:
            payload = bytes([4, 3, 0x09, 0x04])  # en-US
        else:
            text = dev_handle.strings[index - 1].encode("utf-16-le")
            payload = bytes([2 + len(text), 3]) + text
        count = min(len(payload), len(data))
        data[:count] = type(data)("B", payload[:count])
        return count

    def written(self, device: FakeDevice) -> bytes:
        return b"".join(chunk for _, chunk in device.writes)
