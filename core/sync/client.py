"""The HTTP client of the sync protocol (``requests``), shared by the agent and the tests.

Every call has a timeout. Transient failures (no connection, timeouts, 429, 502–504) are
retried with exponential backoff and full jitter, waiting at least what ``Retry-After``
asks. Problems (4xx) are raised as :class:`ServerRefused` carrying the problem document.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import requests
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from core.domain.errors import N_, ValidationError
from core.domain.events import Event
from core.domain.signing import DeviceKey
from core.i18n import current_language

from . import auth, sealed
from . import blobs as blob_io
from .blobs import PREFIX_HEADER
from .errors import LocalFileShort, ProtocolError, Unreachable, refused
from .wire import (
    PROTOCOL_VERSION,
    BlobStatus,
    EnrolRequest,
    EnrolResponse,
    Health,
    MissingRequest,
    MissingResponse,
    PullResponse,
    PushResponse,
    TransfersResponse,
    VectorResponse,
)

M = TypeVar("M", bound=BaseModel)
RETRY_STATUS = frozenset({429, 502, 503, 504})
# A refusal that asks to wait longer (a rate limit on failed enrolments: minutes) is named
# to the user at once, not slept through; the background loop tries again later anyway.
MAX_RETRY_WAIT_S = 60.0


@dataclass(frozen=True)
class Credentials:
    device_id: str
    key: DeviceKey


@dataclass
class RetryPolicy:
    attempts: int = 5
    base_s: float = 0.5
    cap_s: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Full jitter over an exponential ceiling, never shorter than Retry-After."""
        ceiling = min(self.cap_s, self.base_s * 2**attempt)
        return max(self.rng.uniform(0, ceiling), retry_after or 0.0)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        moment = parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, moment - (now if now is not None else time.time()))


def normal_url(address: str) -> str:
    """A server address as people type it: ``host:port`` or ``host`` without a scheme
    means plain HTTP on a LAN address with its port, HTTPS otherwise."""
    text = address.strip()
    if "://" not in text:
        text = text.rstrip("/")
        host, _, port = text.partition(":")
        text = f"http://{text}" if port else f"https://{host}"
    return checked_url(text.rstrip("/"), address)


def checked_url(url: str, typed: str | None = None) -> str:
    """`url` if it names an http(s) server: a malformed one is the clerk's typing, refused
    here (exit 2) rather than sent to the network library, whose English error it would
    become."""
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError when out of 0–65535 or not a number
    except ValueError:
        parts, port = None, None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise ValidationError(
            N_("{address} is not a server address: write https://name or name:port"),
            address=typed if typed is not None else url,
        )
    return url


class SyncClient:
    def __init__(
        self,
        base_url: str,
        credentials: Credentials | None = None,
        *,
        timeout: tuple[float, float] = (5.0, 60.0),
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        clock_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.base_url = normal_url(base_url)
        self.credentials = credentials
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.session = session or requests.Session()
        # The server answers its problems in the user's language; the console shows
        # which protocol each desk speaks.
        self.session.headers["Accept-Language"] = current_language()
        self.session.headers["Motcua-Protocol"] = str(PROTOCOL_VERSION)
        self.clock_ms = clock_ms

    # --- transport -----------------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: bytes | FileSlice = b"",
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
        timeout: tuple[float, float] | None = None,
    ) -> requests.Response:
        """One call, retried while the failure is transient; 2xx or an exception."""
        target = path + ("?" + urlencode(params) if params else "")
        attempt = 0
        while True:
            try:
                response = self._send(method, target, body, headers, stream, timeout)
            except (requests.ConnectionError, requests.Timeout) as err:
                if attempt + 1 >= self.retry.attempts:
                    raise Unreachable(self.base_url, type(err).__name__) from None
                self.retry.sleep(self.retry.delay(attempt, None))
                attempt += 1
                continue
            except requests.RequestException as err:  # a bad address: retrying cannot help
                raise Unreachable(self.base_url, type(err).__name__) from None
            if response.status_code < 400:
                return response
            wait = retry_after_seconds(response.headers.get("Retry-After"))
            if (
                response.status_code in RETRY_STATUS
                and attempt + 1 < self.retry.attempts
                and (wait or 0.0) <= MAX_RETRY_WAIT_S
            ):
                response.close()
                self.retry.sleep(self.retry.delay(attempt, wait))
                attempt += 1
                continue
            raise refused(response.status_code, _problem(response))

    def _send(
        self,
        method: str,
        target: str,
        body: bytes | FileSlice,
        headers: Mapping[str, str] | None,
        stream: bool,
        timeout: tuple[float, float] | None,
    ) -> requests.Response:
        all_headers = dict(headers or {})
        if self.credentials is not None:
            all_headers.update(
                auth.sign_request(
                    self.credentials.key,
                    self.credentials.device_id,
                    method,
                    target,
                    b"" if isinstance(body, FileSlice) else body,
                    self.clock_ms(),
                    digest=body.prefix_sha256 if isinstance(body, FileSlice) else None,
                )
            )
        return self.session.request(
            method,
            self.base_url + target,
            # A FileSlice yields views of one buffer (sent as is by urllib3; the stubs
            # want bytes).
            data=_payload(body),
            headers=all_headers,
            stream=stream,
            timeout=timeout or self.timeout,
        )

    def _json(self, method: str, path: str, model: type[M], **kwargs: Any) -> M:
        response = self.request(method, path, **kwargs)
        try:
            return model.model_validate_json(response.content)
        except PydanticError as err:
            raise ProtocolError(
                N_("The server sent a malformed answer: {detail}"), detail=str(err)[:300]
            ) from None

    @staticmethod
    def _body(model: BaseModel) -> dict[str, Any]:
        return {"body": model.model_dump_json().encode(), "headers": _JSON}

    # --- protocol calls --------------------------------------------------------------
    def health(self) -> Health:
        return self._json("GET", "/v1/health", Health, timeout=(3.0, 5.0))

    def enrol(self, request: EnrolRequest) -> EnrolResponse:
        return self._json("POST", "/v1/enroll", EnrolResponse, **self._body(request))

    def push(self, events: list[Event]) -> PushResponse:
        body = json.dumps({"events": [e.to_wire() for e in events]}, ensure_ascii=False)
        return self._json("POST", "/v1/events", PushResponse, body=body.encode(), headers=_JSON)

    def pull(self, scope: str, after: int, limit: int = 1000, wait: float = 0) -> PullResponse:
        params = {"scope": scope, "after": after, "limit": limit, "wait": wait}
        read = self.timeout[1] + wait
        return self._json(
            "GET", "/v1/events", PullResponse, params=params, timeout=(self.timeout[0], read)
        )

    def exchange(self, scope: str, vector: Mapping[str, int], limit: int = 0) -> VectorResponse:
        body = json.dumps({"scope": scope, "vector": dict(vector), "limit": limit}).encode()
        return self._json("POST", "/v1/vector", VectorResponse, body=body, headers=_JSON)

    def transfers(self, after: int, limit: int = 100) -> TransfersResponse:
        """The messages other units sent this desk's branch (offers and replies)."""
        params = {"after": after, "limit": limit}
        return self._json("GET", "/v1/transfers", TransfersResponse, params=params)

    def missing(self, hashes: list[str]) -> list[str]:
        answer = self._json(
            "POST",
            "/v1/blobs/missing",
            MissingResponse,
            **self._body(MissingRequest(hashes=hashes)),
        )
        return answer.missing

    def blob_status(self, sha256: str, size: int) -> BlobStatus:
        return self._json("GET", f"/v1/blobs/{sha256}/status", BlobStatus, params={"size": size})

    def upload_chunk(self, sha256: str, size: int, data: FileSlice) -> BlobStatus:
        """One chunk, streamed from the file as it is sent, signed over its prefix hash."""
        params = {"offset": data.offset, "size": size}
        headers = {"Content-Type": "application/octet-stream", PREFIX_HEADER: data.prefix_sha256}
        return self._json(
            "PUT", f"/v1/blobs/{sha256}", BlobStatus, params=params, body=data, headers=headers
        )

    def commit_blob(self, sha256: str, size: int) -> BlobStatus:
        return self._json("POST", f"/v1/blobs/{sha256}/commit", BlobStatus, params={"size": size})

    def download(self, sha256: str, offset: int, chunk: int) -> Iterator[bytes]:
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        response = self.request("GET", f"/v1/blobs/{sha256}", headers=headers, stream=True)
        with response:
            if offset and response.status_code != 206:
                raise ProtocolError(N_("The server ignored the range of a resumed download"))
            yield from response.iter_content(chunk)


_JSON = {"Content-Type": "application/json"}
_PIECE = 1 << 20


class FileSlice:
    """`length` bytes of `path` from `offset`, sent as a streaming body with its length
    known (``Content-Length``, not chunked); iterable again for a retry. ``prefix_sha256``
    is the hex SHA-256 of the file's first ``offset + length`` bytes, which the request
    signature covers (``blobs.PREFIX_HEADER``). Read with plain reads, not a memory map: a
    file cut short while mapped (a failing or network disk) would kill the process."""

    def __init__(self, path: Path, offset: int, length: int, prefix_sha256: str) -> None:
        self.path, self.offset, self.length = path, offset, length
        self.prefix_sha256 = prefix_sha256

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[memoryview]:
        # One buffer, refilled: the sender is done with a piece before asking for the
        # next, and fresh 1 MiB objects would cost their page faults every time.
        buffer = memoryview(bytearray(min(self.length, _PIECE) or 1))
        with sealed.open_read(self.path, buffering=0) as handle:
            handle.seek(self.offset)
            left = self.length
            while left:
                got = handle.readinto(buffer[: min(left, len(buffer))])
                if not got:  # the declared length would never arrive: fail, not stall
                    raise LocalFileShort(self.path.name, self.offset + self.length - left)
                left -= got
                yield buffer[:got]


class PrefixHasher:
    """Cuts a file into :class:`FileSlice` chunks from `start`, each with the SHA-256 of
    the file up to its end. One pass over the file (the part before `start` is hashed
    once, when a transfer resumes); not thread-safe: one thread calls ``next_slice``."""

    def __init__(self, path: Path, start: int) -> None:
        self.path, self.at = path, 0
        self.running = hashlib.sha256()
        self._feed(start)

    def next_slice(self, length: int) -> FileSlice:
        begin = self.at
        self._feed(length)
        return FileSlice(self.path, begin, self.at - begin, self.running.copy().hexdigest())

    def _feed(self, length: int) -> None:
        with sealed.open_read(self.path) as handle:
            handle.seek(self.at)
            left = length
            while left and (block := handle.read(min(left, _PIECE))):
                self.running.update(block)
                left -= len(block)
                self.at += len(block)


class MarkedCutter:
    """Cuts a blob into :class:`FileSlice` chunks from `start` whose prefix hashes come
    from the marks taken when the blob was stored (``blobs.file_marks``): the file is read
    once, by the socket. `start` and each length are whole ``MARK_SPAN``s (see ``fits``);
    a file changed since its marks is caught by the server (``chunk-mismatch``)."""

    def __init__(self, path: Path, sha256: str, size: int, marks: bytes, start: int) -> None:
        self.path, self.sha256, self.size, self.marks = path, sha256, size, marks
        self.at = start

    @staticmethod
    def fits(size: int, marks: bytes, start: int) -> bool:
        """The marks are a whole set for `size` and `start` is on one of them."""
        return blob_io.marks_fit(marks, size) and start % blob_io.MARK_SPAN == 0

    def next_slice(self, length: int) -> FileSlice:
        begin = self.at
        self.at = end = min(begin + length, self.size)
        prefix = blob_io.prefix_from_marks(self.marks, self.sha256, self.size, end)
        if prefix is None:
            raise ValueError(f"no prefix mark at {end}")  # a caller's bug: see ``fits``
        return FileSlice(self.path, begin, end - begin, prefix)


def _payload(body: bytes | FileSlice) -> Any:
    """What requests sends: a FileSlice streams (views of one buffer, sent as is by
    urllib3) with its Content-Length; an empty one is no body, so Content-Length: 0 (an
    empty iterable would go out chunked)."""
    if isinstance(body, FileSlice):
        return body if body.length else None
    return body or None


def _problem(response: requests.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {"title": response.reason or "", "status": response.status_code}
    return data if isinstance(data, dict) else {"detail": str(data)}
