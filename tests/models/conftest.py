"""Fixtures of the model tests: a scriptable HTTP server on this machine, a guard against
any other network access, and a model cache of each test's own."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from alphacut.models import download, session


class _LocalServer(ThreadingHTTPServer):
    def server_bind(self):
        # HTTPServer looks its own name up in DNS (socket.getfqdn), which can hang for
        # seconds on a machine without a resolver.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = "127.0.0.1", self.server_address[1]


class ModelServer:
    """Serves ``files`` over HTTP with ``Range`` support and scripted misbehaviour."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.script: dict[str, list[str]] = {}  # path -> actions for the next requests
        self.requests: list[tuple[str, str | None]] = []  # (path, Range header)
        self.delay_s = 0.0
        self.released = threading.Event()  # ends "stall" answers
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_GET(self):
                server.requests.append((self.path, self.headers.get("Range")))
                time.sleep(server.delay_s)
                data = server.files.get(self.path)
                if data is None:
                    self.send_error(404)
                    return
                queue = server.script.get(self.path)
                action = queue.pop(0) if queue else "ok"
                if action == "503":
                    self.send_error(503)
                    return
                start, status = 0, 200
                wanted = self.headers.get("Range")
                if wanted and action != "ignore-range":
                    start = int(wanted.removeprefix("bytes=").split("-")[0])
                    if start >= len(data):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(data)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    status = 206
                body = data[start:]
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                if status == 206:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if action.startswith("stall:"):
                    # Send part of the body, then hang without closing, like a dead link.
                    self.wfile.write(body[: int(action[6:])])
                    self.wfile.flush()
                    server.released.wait(10)
                    self.close_connection = True
                    return
                if action.startswith("drop:"):
                    # Promise the whole body, send part of it, hang up.
                    self.wfile.write(body[: int(action[5:])])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

        self.httpd = _LocalServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.httpd.server_port}/{name}"

    def gets(self, name: str) -> list[str | None]:
        return [rng for path, rng in self.requests if path == f"/{name}"]

    def close(self) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def offline(monkeypatch):
    """Any connection or name lookup beyond this machine fails the test."""
    local = {"127.0.0.1", "::1", "localhost"}
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def connect(sock, address):
        if isinstance(address, tuple) and address[0] not in local:
            raise OSError(f"test tried to reach {address[0]}")
        return real_connect(sock, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in local:
            raise socket.gaierror(f"test tried to resolve {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture()
def cache(tmp_path, monkeypatch) -> Path:
    """A fresh cache per test; no delays between retries."""
    monkeypatch.setenv("ALPHACUT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("ALPHACUT_MODEL_MIRROR", raising=False)
    monkeypatch.setattr(download, "RETRY_DELAY_S", 0.0)
    download._verified.clear()
    session.clear_cache()
    yield tmp_path / "home" / "models"
    session.clear_cache()


@pytest.fixture()
def model_server():
    """A :class:`ModelServer` on 127.0.0.1 serving nothing yet (fill ``files``)."""
    served = ModelServer()
    yield served
    served.close()
