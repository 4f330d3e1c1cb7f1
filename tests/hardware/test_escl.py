"""eSCL scanning against a protocol-following responder on loopback."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from core.ports import (
    ColorMode,
    DeviceBusy,
    DeviceGone,
    FeederEmpty,
    PaperJam,
    PixelFormat,
    ScanSettings,
    Source,
    UnsupportedSetting,
)
from hardware.scanners.escl import EsclScanner

from .escl_responder import EsclState, escl_responder, side_level


def scanner(url: str) -> EsclScanner:
    return EsclScanner(addresses=[url], discover=False)


def test_capabilities_and_device_listing() -> None:
    """GIVEN an eSCL scanner added by address
    WHEN it is listed and asked for capabilities
    THEN it shows its make and model, both sources, gray/colour and its two resolutions."""
    with escl_responder(EsclState()) as url:
        (info,) = scanner(url).devices()
        caps = scanner(url).capabilities(info.id)
    assert (info.id, info.name) == (f"escl:{url}", "Loopback eSCL 3000")
    assert caps.sources == (Source.FLATBED, Source.FEEDER)
    assert caps.modes == (ColorMode.GRAY, ColorMode.COLOR, ColorMode.LINEART)
    assert caps.resolutions == (100, 300)


def test_feeder_scan_follows_the_job_protocol() -> None:
    """GIVEN three sheets in the feeder and a scanner that answers 503 before each page
    WHEN a gray feeder scan runs
    THEN a job is posted, NextDocument is polled through every 503 until the 404,
    and three JPEG pages come back in order at the asked resolution."""
    state = EsclState(sheets=3)
    with escl_responder(state) as url:
        result = scanner(url).scan(f"escl:{url}", ScanSettings(100, ColorMode.GRAY, Source.FEEDER))
    assert result.complete
    assert [p.number for p in result.pages] == [1, 2, 3]
    assert all(p.pixel_format is PixelFormat.JPEG for p in result.pages)
    first = Image.open(io.BytesIO(result.pages[0].data))
    assert (first.mode, first.size, first.info["dpi"][0]) == ("L", (200, 300), 100)
    calls = [c for c in state.requests if c[1].startswith("/eSCL/ScanJobs")]
    assert calls[0] == ("POST", "/eSCL/ScanJobs")
    next_docs = [c for c in calls if c[1].endswith("NextDocument")]
    assert len(next_docs) == (3 + 1) * 2  # each answer (3 pages, then 404) after one 503


def test_jam_keeps_pages_and_cancels_the_job() -> None:
    """GIVEN a feeder that jams after the second page
    WHEN scanning
    THEN two pages are kept, the problem is a PaperJam, and the job is deleted."""
    state = EsclState(sheets=5, jam_after=2, not_ready_polls=0)
    with escl_responder(state) as url:
        result = scanner(url).scan(f"escl:{url}", ScanSettings(100, source=Source.FEEDER))
    assert len(result.pages) == 2
    assert isinstance(result.problem, PaperJam)
    assert len(state.deleted) == 1


def test_empty_feeder_and_busy_scanner() -> None:
    """GIVEN an empty feeder, then a scanner busy with another job
    WHEN scanning
    THEN the first is a FeederEmpty problem (409 + AdfEmpty) and the second DeviceBusy (503)."""
    with escl_responder(EsclState(sheets=0)) as url:
        result = scanner(url).scan(f"escl:{url}", ScanSettings(100, source=Source.FEEDER))
    assert isinstance(result.problem, FeederEmpty)
    with escl_responder(EsclState(busy=True)) as url, pytest.raises(DeviceBusy):
        scanner(url).scan(f"escl:{url}", ScanSettings(100))


def test_refuses_resolution_and_reports_an_unreachable_scanner() -> None:
    """GIVEN a 1200 dpi request, and a scanner that went away
    WHEN scanning
    THEN UnsupportedSetting before any job, and DeviceGone for the missing host."""
    with escl_responder(EsclState()) as url, pytest.raises(UnsupportedSetting):
        scanner(url).scan(f"escl:{url}", ScanSettings(1200))
    with pytest.raises(DeviceGone):
        scanner(url).scan(f"escl:{url}", ScanSettings(100))


def test_duplex_feeder_scan_gives_front_then_back_of_each_sheet() -> None:
    """GIVEN an eSCL scanner whose feeder reads both sides (AdfDuplexInputCaps), three
    sheets loaded
    WHEN a duplex gray feeder scan runs
    THEN the capabilities say duplex, the job asks for Duplex, and six pages come back
    front 1, back 1, front 2, back 2, front 3, back 3 — read from the pages themselves."""
    state = EsclState(sheets=3, duplex=True, not_ready_polls=0)
    with escl_responder(state) as url:
        device = f"escl:{url}"
        assert scanner(url).capabilities(device).duplex
        settings = ScanSettings(100, ColorMode.GRAY, Source.FEEDER, duplex=True)
        result = scanner(url).scan(device, settings)
    assert result.complete
    assert [p.number for p in result.pages] == [1, 2, 3, 4, 5, 6]
    order = [(s, side) for s in (1, 2, 3) for side in ("front", "back")]
    assert state.delivered == order
    levels = [_marker(p.data) for p in result.pages]
    assert levels == pytest.approx([side_level(*o) for o in order], abs=4)
    assert state.sheets == 0


def test_duplex_on_a_simplex_feeder_is_refused_before_paper_moves() -> None:
    """GIVEN an eSCL scanner without a duplex feeder
    WHEN a duplex scan is asked for
    THEN UnsupportedSetting, and no job was posted."""
    state = EsclState(sheets=3)
    with escl_responder(state) as url, pytest.raises(UnsupportedSetting, match="duplex"):
        scanner(url).scan(f"escl:{url}", ScanSettings(100, source=Source.FEEDER, duplex=True))
    assert not [c for c in state.requests if c[0] == "POST"]


def _marker(jpeg: bytes) -> float:
    """The mean gray of the marker square (see escl_responder.page_jpeg)."""
    image = Image.open(io.BytesIO(jpeg)).convert("L")
    dpi = round(image.info["dpi"][0])
    square = image.crop((8, dpi + 8, dpi // 2 - 8, dpi + dpi // 2 - 8))
    return sum(i * n for i, n in enumerate(square.histogram())) / (square.width * square.height)
