"""PDF rendering fetches nothing: only `data:` URLs load; http, file and the rest are refused."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from weasyprint import HTML

from engine.render import ExternalFetchError, data_only_fetcher, html_to_pdf


class _Counting(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Counting.hits.append(self.path)
        body = b"p { color: red }"
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    """A loopback HTTP server that records every request; yields its base URL."""
    _Counting.hits = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Counting)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def _page(base: str) -> str:
    return (f'<!DOCTYPE html><html><head><link rel="stylesheet" href="{base}/linked.css">'
            f'<style>@import url("{base}/imported.css");</style></head>'
            f'<body><img src="{base}/image.png"><p>hello</p></body></html>')


@pytest.mark.parametrize("url", ["http://example.invalid/x.css", "https://example.invalid/f.woff",
                                 "file:///etc/passwd", "ftp://example.invalid/x", "//example.invalid/x"])
def test_fetcher_refuses_everything_but_data(url: str) -> None:
    with pytest.raises(ExternalFetchError, match="refused"):
        data_only_fetcher()(url)


def test_fetcher_loads_data_urls() -> None:
    response = data_only_fetcher()("data:text/css,p%20%7B%20color%3A%20red%20%7D")
    try:
        assert response.read() == b"p { color: red }"
    finally:
        response.close()


def test_pdf_rendering_never_fetches(server: str) -> None:
    with pytest.raises(ExternalFetchError):
        html_to_pdf(_page(server))
    assert _Counting.hits == []


def test_the_server_would_see_a_default_fetcher(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Control for the test above: without our fetcher WeasyPrint does fetch.
    for var in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    HTML(string=_page(server)).write_pdf()
    assert _Counting.hits


def test_data_urls_still_render() -> None:
    pixel = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4"
             "DwABBAEAwS2OUAAAAABJRU5ErkJggg==")
    pdf = html_to_pdf(f'<!DOCTYPE html><html><body><img src="{pixel}"><p>ok</p></body></html>')
    assert pdf.startswith(b"%PDF-")
