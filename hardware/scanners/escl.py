"""eSCL (AirScan) scanners over HTTP: network scanners and IPP-over-USB devices.

Device ids: ``escl:<base URL>``, e.g. ``escl:http://192.168.1.40:80/eSCL``. Devices are
found by zeroconf (``_uscan._tcp``, TXT ``rs`` gives the path) or added by address.

Protocol (Mopria eSCL 2.x): ``GET ScannerCapabilities``; ``POST ScanJobs`` with a
``ScanSettings`` document → ``201`` and ``Location``; ``GET {job}/NextDocument`` until
``404`` (no more pages); ``503`` means "not ready, ask again"; ``GET ScannerStatus``
explains a stop (``ScannerAdfJam``, ``ScannerAdfEmpty``); ``DELETE {job}`` cancels.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urljoin

import requests

from core.ports.errors import (
    CoverOpen,
    DeviceBusy,
    DeviceGone,
    DeviceNotFound,
    FeederEmpty,
    HardwareError,
    PaperJam,
    ScanCancelled,
    ScanFailed,
    ScanProblem,
)
from core.ports.scanner import (
    CancelToken,
    ColorMode,
    PageCallback,
    PixelFormat,
    ScannedPage,
    ScannerCapabilities,
    ScannerInfo,
    ScanResult,
    ScanSettings,
    Source,
)

PREFIX = "escl:"
SERVICE = "_uscan._tcp.local."
NS = {
    "scan": "http://schemas.hp.com/imaging/escl/2011/05/03",
    "pwg": "http://www.pwg.org/schemas/2010/12/sm",
}
ESCL_MODES = {
    ColorMode.GRAY: "Grayscale8",
    ColorMode.COLOR: "RGB24",
    ColorMode.LINEART: "Grayscale8",  # thresholded by the document pipeline
}
A4_300THS = (2480, 3508)
RETRY_503 = 0.05  # seconds between "not ready" polls
PAGE_WAIT = 60.0  # give up on a page after this long


@dataclass(frozen=True)
class EsclDevice:
    base_url: str  # http://host:port/eSCL
    name: str = ""


class EsclScanner:
    backend = "escl"

    def __init__(
        self,
        addresses: Sequence[str] = (),
        discover: bool = True,
        browse_seconds: float = 1.5,
        timeout: float = 10.0,
    ) -> None:
        self._manual = [EsclDevice(_base(a)) for a in addresses]
        self._discover = discover
        self._browse_seconds = browse_seconds
        self._timeout = timeout
        self._http = requests.Session()

    def usable(self) -> bool:
        return True  # plain HTTP: nothing to install

    def devices(self) -> list[ScannerInfo]:
        found = list(self._manual)
        if self._discover:
            found += [d for d in discover(self._browse_seconds) if d not in found]
        infos = []
        for device in found:
            infos.append(self._info(device))
        return infos

    def _info(self, device: EsclDevice) -> ScannerInfo:
        name = device.name
        if not name:
            try:
                caps = self._get_xml(PREFIX + device.base_url, "ScannerCapabilities")
                name = caps.findtext("pwg:MakeAndModel", "", NS)
            except HardwareError:
                name = device.base_url
        return ScannerInfo(PREFIX + device.base_url, name, self.backend, connection="network")

    def capabilities(self, device_id: str) -> ScannerCapabilities:
        return parse_capabilities(self._get_xml(device_id, "ScannerCapabilities"))

    def scan(
        self,
        device_id: str,
        settings: ScanSettings,
        on_page: PageCallback | None = None,
        cancel: CancelToken | None = None,
    ) -> ScanResult:
        self.capabilities(device_id).check(device_id, settings)
        try:
            job = self._create_job(device_id, settings)
        except ScanProblem as refused:
            return ScanResult(device_id, settings, (), refused)
        pages: list[ScannedPage] = []
        try:
            problem = self._collect(device_id, job, settings, pages, on_page, cancel)
        except HardwareError as err:
            problem = err
        if problem is not None:
            self._delete(job)
        return ScanResult(device_id, settings, tuple(pages), problem)

    # -- protocol ---------------------------------------------------------------------

    def _create_job(self, device_id: str, settings: ScanSettings) -> str:
        url = _url(device_id, "ScanJobs")
        body = scan_settings_xml(settings)
        response = self._request("POST", device_id, url, data=body)
        if response.status_code == 201 and response.headers.get("Location"):
            return urljoin(url, response.headers["Location"])
        if response.status_code == 503:
            raise DeviceBusy(device_id)
        raise self._status_problem(device_id, 0, f"HTTP {response.status_code}")

    def _collect(
        self,
        device_id: str,
        job: str,
        settings: ScanSettings,
        pages: list[ScannedPage],
        on_page: PageCallback | None,
        cancel: CancelToken | None,
    ) -> HardwareError | None:
        while True:
            if cancel is not None and cancel.cancelled:
                return ScanCancelled(device_id, len(pages))
            response = self._next_document(device_id, job)
            if response.status_code == 404:
                return self._after_last(device_id, settings, len(pages))
            if response.status_code != 200:
                return self._status_problem(device_id, len(pages), f"HTTP {response.status_code}")
            page = _page(len(pages) + 1, response, settings)
            pages.append(page)
            if on_page is not None:
                on_page(page)
            if settings.source is Source.FLATBED:
                return None

    def _next_document(self, device_id: str, job: str) -> requests.Response:
        deadline = time.monotonic() + PAGE_WAIT
        while True:
            response = self._request("GET", device_id, job.rstrip("/") + "/NextDocument")
            if response.status_code != 503 or time.monotonic() > deadline:
                return response
            time.sleep(RETRY_503)

    def _after_last(
        self, device_id: str, settings: ScanSettings, count: int
    ) -> HardwareError | None:
        """404 on NextDocument: the normal end, unless the scanner says why it stopped."""
        state = self._adf_state(device_id)
        if state == "ScannerAdfJam":
            return PaperJam(device_id, count)
        if count == 0:
            if settings.source is Source.FEEDER:
                return FeederEmpty(device_id, 0)
            return ScanFailed(device_id, "no page delivered", 0)
        return None

    def _status_problem(self, device_id: str, count: int, detail: str) -> HardwareError:
        state = self._adf_state(device_id)
        if state == "ScannerAdfJam":
            return PaperJam(device_id, count)
        if state == "ScannerAdfEmpty":
            return FeederEmpty(device_id, count)
        if state in ("ScannerAdfHatchOpen", "ScannerCoverOpen"):
            return CoverOpen(device_id, count)
        return ScanFailed(device_id, detail, count)

    def _adf_state(self, device_id: str) -> str:
        try:
            status = self._get_xml(device_id, "ScannerStatus")
        except HardwareError:
            return ""
        return status.findtext("scan:AdfState", "", NS)

    def _delete(self, job: str) -> None:
        try:
            self._http.delete(job, timeout=self._timeout)
        except requests.RequestException:
            return

    def _get_xml(self, device_id: str, resource: str) -> ET.Element:
        response = self._request("GET", device_id, _url(device_id, resource))
        if response.status_code != 200:
            raise DeviceNotFound(device_id)
        return ET.fromstring(response.content)

    def _request(self, method: str, device_id: str, url: str, **kw: object) -> requests.Response:
        try:
            return self._http.request(
                method,
                url,
                timeout=self._timeout,
                headers={"Content-Type": "text/xml"},
                **kw,  # type: ignore[arg-type]
            )
        except requests.ConnectionError as err:
            raise DeviceGone(device_id, str(err)[:120]) from err
        except requests.Timeout as err:
            raise DeviceGone(device_id, "timeout") from err


def scan_settings_xml(settings: ScanSettings) -> bytes:
    source = "Feeder" if settings.source is Source.FEEDER else "Platen"
    width, height = A4_300THS
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<scan:ScanSettings xmlns:scan="{NS["scan"]}" xmlns:pwg="{NS["pwg"]}">
  <pwg:Version>2.63</pwg:Version>
  <pwg:ScanRegions>
    <pwg:ScanRegion>
      <pwg:Height>{height}</pwg:Height>
      <pwg:ContentRegionUnits>escl:ThreeHundredthsOfInches</pwg:ContentRegionUnits>
      <pwg:Width>{width}</pwg:Width>
      <pwg:XOffset>0</pwg:XOffset>
      <pwg:YOffset>0</pwg:YOffset>
    </pwg:ScanRegion>
  </pwg:ScanRegions>
  <pwg:InputSource>{source}</pwg:InputSource>
  <scan:Duplex>{str(settings.duplex).lower()}</scan:Duplex>
  <scan:ColorMode>{ESCL_MODES[settings.mode]}</scan:ColorMode>
  <scan:XResolution>{settings.resolution}</scan:XResolution>
  <scan:YResolution>{settings.resolution}</scan:YResolution>
  <pwg:DocumentFormat>image/jpeg</pwg:DocumentFormat>
</scan:ScanSettings>
""".encode()


def parse_capabilities(root: ET.Element) -> ScannerCapabilities:
    sources = []
    if root.find("scan:Platen", NS) is not None:
        sources.append(Source.FLATBED)
    adf = root.find("scan:Adf", NS)
    if adf is not None:
        sources.append(Source.FEEDER)
    modes_found = {m.text for m in root.iterfind(".//scan:ColorMode", NS)}
    modes = [ColorMode.GRAY] if "Grayscale8" in modes_found else []
    if "RGB24" in modes_found:
        modes.append(ColorMode.COLOR)
    if modes:
        modes.append(ColorMode.LINEART)
    resolutions = sorted(
        {int(r.text or 0) for r in root.iterfind(".//scan:DiscreteResolution/scan:XResolution", NS)}
    )
    width = root.findtext(".//scan:MaxWidth", "0", NS)
    height = root.findtext(".//scan:MaxHeight", "0", NS)
    return ScannerCapabilities(
        resolutions=tuple(resolutions),
        modes=tuple(modes),
        sources=tuple(sources),
        duplex=adf is not None and adf.find("scan:AdfDuplexInputCaps", NS) is not None,
        max_width_mm=int(width) * 25.4 / 300,
        max_height_mm=int(height) * 25.4 / 300,
    )


def discover(seconds: float = 1.5) -> list[EsclDevice]:
    """eSCL scanners announcing ``_uscan._tcp`` on the LAN (and ipp-usb on this host)."""
    from zeroconf import ServiceBrowser, ServiceListener, Zeroconf

    found: list[EsclDevice] = []

    class Listener(ServiceListener):
        def add_service(self, zc: Zeroconf, type_: str, name: str) -> None:
            info = zc.get_service_info(type_, name, timeout=1000)
            if info is None or not info.parsed_addresses():
                return
            path = (info.properties.get(b"rs") or b"eSCL").decode().strip("/")
            host = info.parsed_addresses()[0]
            host = f"[{host}]" if ":" in host else host
            found.append(EsclDevice(f"http://{host}:{info.port}/{path}", name.split(".")[0]))

        def update_service(self, zc: Zeroconf, type_: str, name: str) -> None:
            return

        def remove_service(self, zc: Zeroconf, type_: str, name: str) -> None:
            return

    zc = Zeroconf()
    try:
        ServiceBrowser(zc, SERVICE, Listener())
        time.sleep(seconds)
    finally:
        zc.close()
    return found


def _page(number: int, response: requests.Response, settings: ScanSettings) -> ScannedPage:
    kind = response.headers.get("Content-Type", "image/jpeg").split(";")[0].strip()
    formats = {"image/jpeg": PixelFormat.JPEG, "image/png": PixelFormat.PNG}
    formats["application/pdf"] = PixelFormat.PDF
    return ScannedPage(
        number=number,
        data=response.content,
        pixel_format=formats.get(kind, PixelFormat.JPEG),
        dpi=settings.resolution,
        mode=settings.mode,
    )


def _base(address: str) -> str:
    address = address.removeprefix(PREFIX)
    if "://" not in address:
        address = f"http://{address}"
    return (
        address.rstrip("/")
        if address.rstrip("/").endswith("eSCL")
        else address.rstrip("/") + "/eSCL"
    )


def _url(device_id: str, resource: str) -> str:
    return device_id.removeprefix(PREFIX).rstrip("/") + "/" + resource
