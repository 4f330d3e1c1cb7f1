"""An eSCL scanner on loopback for tests: follows the protocol, serves JPEG pages.

It holds a stack of sheets in its feeder and can be told to jam after N pages, to be
busy, or to have an empty feeder. Requests are recorded for assertions.
"""

from __future__ import annotations

import io
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image, ImageDraw

NS = {
    "scan": "http://schemas.hp.com/imaging/escl/2011/05/03",
    "pwg": "http://www.pwg.org/schemas/2010/12/sm",
}

DUPLEX_CAPS = """  <scan:AdfDuplexInputCaps>
    <scan:MaxWidth>2550</scan:MaxWidth><scan:MaxHeight>3508</scan:MaxHeight>
  </scan:AdfDuplexInputCaps>
  <scan:AdfOptions><scan:AdfOption>Duplex</scan:AdfOption></scan:AdfOptions>
"""

CAPABILITIES = f"""<?xml version="1.0" encoding="UTF-8"?>
<scan:ScannerCapabilities xmlns:scan="{NS["scan"]}" xmlns:pwg="{NS["pwg"]}">
  <pwg:Version>2.63</pwg:Version>
  <pwg:MakeAndModel>Loopback eSCL 3000</pwg:MakeAndModel>
  <scan:Platen><scan:PlatenInputCaps>
    <scan:MaxWidth>2550</scan:MaxWidth><scan:MaxHeight>3508</scan:MaxHeight>
    <scan:SettingProfiles><scan:SettingProfile>
      <scan:ColorModes><scan:ColorMode>RGB24</scan:ColorMode>
        <scan:ColorMode>Grayscale8</scan:ColorMode></scan:ColorModes>
      <scan:DocumentFormats><pwg:DocumentFormat>image/jpeg</pwg:DocumentFormat>
      </scan:DocumentFormats>
      <scan:SupportedResolutions><scan:DiscreteResolutions>
        <scan:DiscreteResolution><scan:XResolution>100</scan:XResolution>
          <scan:YResolution>100</scan:YResolution></scan:DiscreteResolution>
        <scan:DiscreteResolution><scan:XResolution>300</scan:XResolution>
          <scan:YResolution>300</scan:YResolution></scan:DiscreteResolution>
      </scan:DiscreteResolutions></scan:SupportedResolutions>
    </scan:SettingProfile></scan:SettingProfiles>
  </scan:PlatenInputCaps></scan:Platen>
  <scan:Adf><scan:AdfSimplexInputCaps>
    <scan:MaxWidth>2550</scan:MaxWidth><scan:MaxHeight>3508</scan:MaxHeight>
  </scan:AdfSimplexInputCaps>
{{duplex}}</scan:Adf>
</scan:ScannerCapabilities>
"""


@dataclass
class EsclState:
    sheets: int = 3  # sheets in the feeder
    jam_after: int | None = None  # jam when this many pages were delivered
    busy: bool = False
    not_ready_polls: int = 1  # 503s before each page ("warming up")
    requests: list[tuple[str, str]] = field(default_factory=list)
    jobs: dict[str, dict[str, object]] = field(default_factory=dict)
    adf_state: str = "ScannerAdfLoaded"
    deleted: list[str] = field(default_factory=list)
    duplex: bool = False  # the feeder reads both sides of a sheet in one pass
    delivered: list[tuple[int, str]] = field(default_factory=list)  # (sheet, side)


def capabilities(state: EsclState) -> str:
    return CAPABILITIES.replace("{duplex}", DUPLEX_CAPS if state.duplex else "")


def side_level(sheet: int, side: str) -> int:
    """The gray level of the marker square on a sheet's side (front 30, 70, …; back +20)."""
    return 30 + 40 * (sheet - 1) + (20 if side == "back" else 0)


def page_jpeg(number: int, gray: bool, dpi: int, sheet: int = 0, side: str = "front") -> bytes:
    """A small page with its number drawn on it (the test checks order), and a marker
    square whose gray level tells the sheet and side (``side_level``)."""
    size = (dpi * 2, dpi * 3)  # a 2 x 3 inch card keeps the test fast
    image = Image.new("L" if gray else "RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.text((20, 20), f"PAGE {number}", fill="black")
    if sheet:
        level = side_level(sheet, side)
        draw.rectangle((0, dpi, dpi // 2, dpi + dpi // 2), fill=(level,) * (1 if gray else 3))
    out = io.BytesIO()
    image.save(out, "JPEG", dpi=(dpi, dpi))
    return out.getvalue()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: object) -> None:
        return

    def _send(self, code: int, body: bytes = b"", kind: str = "text/xml", **headers: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        state = self.server.state
        state.requests.append(("GET", self.path))
        if self.path == "/eSCL/ScannerCapabilities":
            self._send(200, capabilities(state).encode())
        elif self.path == "/eSCL/ScannerStatus":
            self._send(200, _status(state).encode())
        elif self.path.endswith("/NextDocument"):
            self._next(self.path.split("/")[-2])
        else:
            self._send(404)

    def _next(self, job_id: str) -> None:
        state = self.server.state
        job = state.jobs.get(job_id)
        if job is None:
            self._send(404)
            return
        if int(job["waits"]) > 0:
            job["waits"] = int(job["waits"]) - 1
            self._send(503, retry_after="1")
            return
        delivered = int(job["delivered"])
        if state.jam_after is not None and delivered >= state.jam_after:
            state.adf_state = "ScannerAdfJam"
            self._send(404)
            return
        if delivered >= int(job["limit"]):
            self._send(404)
            return
        job["delivered"] = delivered + 1
        job["waits"] = state.not_ready_polls
        sides = 2 if job["duplex"] else 1
        sheet, side = delivered // sides + 1, ("front", "back")[delivered % sides]
        if job["source"] == "Feeder" and side == "front":
            state.sheets -= 1
        state.delivered.append((sheet, side))
        body = page_jpeg(delivered + 1, bool(job["gray"]), int(job["dpi"]), sheet, side)
        self._send(200, body, "image/jpeg")

    def do_POST(self) -> None:
        state = self.server.state
        state.requests.append(("POST", self.path))
        length = int(self.headers.get("Content-Length", 0))
        settings = ET.fromstring(self.rfile.read(length))
        if self.path != "/eSCL/ScanJobs":
            self._send(404)
            return
        if state.busy:
            self._send(503)
            return
        source = settings.findtext("pwg:InputSource", "Platen", NS)
        if source == "Feeder" and state.sheets <= 0:
            state.adf_state = "ScannerAdfEmpty"
            self._send(409)
            return
        duplex = source == "Feeder" and settings.findtext("scan:Duplex", "false", NS) == "true"
        if duplex and not state.duplex:
            self._send(409)  # a simplex feeder refuses a duplex job
            return
        job_id = uuid.uuid4().hex
        state.jobs[job_id] = {
            "source": source,
            "duplex": duplex,
            "limit": (state.sheets * (2 if duplex else 1)) if source == "Feeder" else 1,
            "delivered": 0,
            "waits": state.not_ready_polls,
            "gray": settings.findtext("scan:ColorMode", "", NS) == "Grayscale8",
            "dpi": int(settings.findtext("scan:XResolution", "300", NS)),
        }
        self._send(201, Location=f"/eSCL/ScanJobs/{job_id}")

    def do_DELETE(self) -> None:
        self.server.state.requests.append(("DELETE", self.path))
        self.server.state.deleted.append(self.path)
        self._send(200)


def _status(state: EsclState) -> str:
    return (
        f'<?xml version="1.0"?><scan:ScannerStatus xmlns:scan="{NS["scan"]}" '
        f'xmlns:pwg="{NS["pwg"]}"><pwg:Version>2.63</pwg:Version><pwg:State>Idle</pwg:State>'
        f"<scan:AdfState>{state.adf_state}</scan:AdfState></scan:ScannerStatus>"
    )


class _Server(ThreadingHTTPServer):
    state: EsclState


@contextmanager
def escl_responder(state: EsclState) -> Iterator[str]:
    """Serve eSCL on 127.0.0.1 on a free port; yields the base URL (…/eSCL)."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = state
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/eSCL"
    finally:
        server.shutdown()
        server.server_close()
