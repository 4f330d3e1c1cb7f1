"""The blob bench's baseline receivers: plain HTTP servers that append each PUT body to a
file, each run as its own process like the sync server (``python -m
tests.bench.plain_sink uvicorn|stdlib FOLDER``; prints its port). No signature, no hash,
no database.

- ``uvicorn``: a bare ASGI app served by uvicorn exactly as ``motcua-server serve`` runs
  (same HTTP stack): what the protocol itself costs shows against it;
- ``stdlib``: Python's ``http.server``, for reference.
"""

from __future__ import annotations

import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_PIECE = 1 << 20


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as uvicorn
    folder = Path(".")

    def do_PUT(self) -> None:
        remaining = int(self.headers["Content-Length"])
        with (self.folder / "upload.bin").open("ab") as handle:
            while remaining:
                piece = self.rfile.read(min(remaining, _PIECE))
                if not piece:
                    break
                handle.write(piece)
                remaining -= len(piece)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return None


def _stdlib(folder: Path) -> None:
    Sink.folder = folder
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    print(httpd.server_address[1], flush=True)
    httpd.serve_forever()


def _uvicorn(folder: Path) -> None:
    import uvicorn

    target = folder / "upload.bin"

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        with target.open("ab") as handle:
            more = True
            while more:
                message = await receive()
                handle.write(message.get("body", b""))
                more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    kind, folder = sys.argv[1], Path(sys.argv[2])
    {"stdlib": _stdlib, "uvicorn": _uvicorn}[kind](folder)


if __name__ == "__main__":
    main()
