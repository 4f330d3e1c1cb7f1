"""Scanning through real SANE with its `test` backend (sane-test(5))."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from core.ports import (
    CancelToken,
    ColorMode,
    DeviceNotFound,
    FeederEmpty,
    PaperJam,
    ScanCancelled,
    ScannedPage,
    ScanSettings,
    Source,
    UnsupportedSetting,
)
from hardware.scanners.sane_scanner import SaneScanner

DEVICE = "sane:test:0"
ADF_CAPACITY = 10  # the test backend's feeder "empties" after 10 pages


def fresh(**options: object) -> SaneScanner:
    """The test backend keeps option values between opens: start every test from defaults."""
    return SaneScanner(device_options={"test:0": {"read-return-value": "Default", **options}})


def test_lists_the_test_backend_devices() -> None:
    """GIVEN SANE configured with only the test backend
    WHEN the scanner lists devices
    THEN both virtual devices appear with sane: ids and the test backend's capabilities."""
    scanner = fresh()
    ids = [info.id for info in scanner.devices()]
    caps = scanner.capabilities(DEVICE)
    assert ids == ["sane:test:0", "sane:test:1"]
    assert set(caps.sources) == {Source.FLATBED, Source.FEEDER}
    assert set(caps.modes) == {ColorMode.GRAY, ColorMode.COLOR, ColorMode.LINEART}
    assert caps.resolutions == (1, 1200)


def test_flatbed_scan_gives_one_a4_page_at_the_asked_resolution() -> None:
    """GIVEN the flatbed of the test scanner
    WHEN one colour page is scanned at 150 dpi
    THEN the page is A4 at 150 dpi (1240 x 1753 px) in RGB, numbered 1."""
    result = fresh().scan(DEVICE, ScanSettings(150, ColorMode.COLOR, Source.FLATBED))
    assert result.complete
    (page,) = result.pages
    assert (page.number, page.width, page.height, page.dpi) == (1, 1240, 1753, 150)
    assert len(page.data) == 1240 * 1753 * 3


def test_feeder_scan_reads_every_page_and_reports_progress() -> None:
    """GIVEN the test backend's feeder, which holds 10 sheets
    WHEN a gray feeder scan runs
    THEN 10 pages come back in order, each announced once through on_page."""
    seen: list[int] = []
    result = fresh().scan(
        DEVICE,
        ScanSettings(75, ColorMode.GRAY, Source.FEEDER),
        on_page=lambda page: seen.append(page.number),
    )
    assert result.complete
    assert [p.number for p in result.pages] == list(range(1, ADF_CAPACITY + 1))
    assert seen == list(range(1, ADF_CAPACITY + 1))


def test_jam_in_the_middle_keeps_the_pages_already_scanned() -> None:
    """GIVEN a feeder scan where the paper jams after the third page
    WHEN the scan runs
    THEN the three pages are kept and the problem is a PaperJam saying so."""
    scanner = fresh()

    def jam_after_third(page: ScannedPage) -> None:
        if page.number == 3:
            scanner.adjust(DEVICE, "read-return-value", "SANE_STATUS_JAMMED")

    result = scanner.scan(
        DEVICE, ScanSettings(50, ColorMode.GRAY, Source.FEEDER), on_page=jam_after_third
    )
    assert len(result.pages) == 3
    assert isinstance(result.problem, PaperJam)
    assert result.problem.pages_kept == 3
    assert "3 page(s) already scanned were kept" in str(result.problem)


def test_empty_feeder_is_a_clear_problem_not_an_empty_success() -> None:
    """GIVEN a feeder that reports no documents at the first page
    WHEN a feeder scan runs
    THEN no page comes back and the problem says the feeder is empty."""
    scanner = fresh(**{"read-return-value": "SANE_STATUS_NO_DOCS"})
    result = scanner.scan(DEVICE, ScanSettings(50, ColorMode.GRAY, Source.FEEDER))
    assert result.pages == ()
    assert isinstance(result.problem, FeederEmpty)
    with pytest.raises(FeederEmpty, match="No paper in the feeder"):
        result.raise_for_problem()


def test_jam_on_the_first_sheet() -> None:
    """GIVEN the test backend set to report a jam on every read
    WHEN a flatbed scan runs
    THEN the result holds no page and a PaperJam problem."""
    scanner = fresh(**{"read-return-value": "SANE_STATUS_JAMMED"})
    result = scanner.scan(DEVICE, ScanSettings(50, ColorMode.GRAY, Source.FEEDER))
    assert result.pages == ()
    assert isinstance(result.problem, PaperJam)


def test_cancel_stops_before_the_next_page() -> None:
    """GIVEN a clerk who presses cancel while page 2 is being delivered
    WHEN the feeder scan continues
    THEN it stops after page 2 and reports ScanCancelled with 2 pages kept."""
    token = CancelToken()

    def cancel_at_two(page: ScannedPage) -> None:
        if page.number == 2:
            token.cancel()

    result = fresh().scan(
        DEVICE, ScanSettings(50, ColorMode.GRAY, Source.FEEDER), cancel_at_two, token
    )
    assert len(result.pages) == 2
    assert isinstance(result.problem, ScanCancelled)


def test_unknown_device_and_unsupported_settings_are_refused() -> None:
    """GIVEN a device id that SANE does not know, and a resolution beyond the range
    WHEN scanning
    THEN DeviceNotFound and UnsupportedSetting are raised before any page is read."""
    with pytest.raises(DeviceNotFound):
        fresh().scan("sane:nosuch:0", ScanSettings())
    with pytest.raises(UnsupportedSetting):
        fresh().scan(DEVICE, ScanSettings(resolution=4800))


def test_the_test_backend_has_no_duplex_and_a_duplex_scan_is_refused() -> None:
    """GIVEN SANE's test backend, whose `source` offers only Flatbed and Automatic
    Document Feeder (no duplex source; duplex is tested on the eSCL responder)
    WHEN its capabilities are read and a duplex feeder scan is asked for
    THEN duplex is off and the scan is refused with UnsupportedSetting before any page."""
    scanner = fresh()
    assert scanner.capabilities(DEVICE).duplex is False
    seen: list[ScannedPage] = []
    with pytest.raises(UnsupportedSetting, match="duplex"):
        scanner.scan(DEVICE, ScanSettings(50, source=Source.FEEDER, duplex=True), seen.append)
    assert seen == []


def test_sigpipe_stays_ignored_after_a_scan() -> None:
    """GIVEN SANE's test backend, which resets SIGPIPE to its default (kill the process)
    WHEN a scan has run
    THEN SIGPIPE is ignored again, so a write to a dead worker's pipe is an error, not
    the end of the app."""
    fresh().scan(DEVICE, ScanSettings(50))
    status = Path("/proc/self/status").read_text().splitlines()
    (ignored,) = [line.split()[1] for line in status if line.startswith("SigIgn:")]
    assert int(ignored, 16) & (1 << (signal.SIGPIPE - 1))
