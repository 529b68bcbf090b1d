"""What the widget browser tests stand on: the service on a real loopback HTTP server, a municipal
website on another origin that embeds the widgets as such sites do (hostile CSS, an iframe with
the resize script, WordPress's side of the embed protocol, a fragment included server-side, a
service that cannot be reached), and an axe-core audit run inside the page.

Chromium is the system's (Debian's package, which `.ci/run` installs) driven by Playwright's
bundled driver: no browser is downloaded. axe-core comes from the npm registry into
tests/browser/node_modules (`npm ci --prefix tests/browser`).
"""

from __future__ import annotations

import html
import itertools
import json
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from bs4 import BeautifulSoup
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
AXE_SCRIPT = Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")

WsgiApp = Callable[..., Iterable[bytes]]
Options = Mapping[str, str | int]


def dump_dom(url: str, profile: Path) -> BeautifulSoup:
    """The DOM that headless Chromium builds for `url` (after scripts and any XSLT); the test
    skips, saying why, where no Chromium is installed."""
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (apt-get install -y chromium)")
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip(), result.stderr[-3000:]
    return BeautifulSoup(result.stdout, "html.parser")


# --- servers -------------------------------------------------------------------------------


@contextmanager
def serving(wsgi_app: WsgiApp) -> Iterator[str]:
    """`wsgi_app` on its own loopback port (so its own origin) until the block ends."""
    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="browser-test-http", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def closed_port_url() -> str:
    """A loopback URL where nothing listens: a service that cannot be reached."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


class HostSite:
    """A municipal website: pages published by the tests, each built when it is requested, so
    that a page can include a fragment fetched from the service at that moment, as PHP does."""

    def __init__(self) -> None:
        self.url = ""  # set once the site listens
        self._pages: dict[str, Callable[[], str]] = {}
        self._numbers = itertools.count(1)
        self._lock = threading.Lock()

    def publish(self, page: str | Callable[[], str]) -> str:
        """Serve `page` (HTML, or a function building it per request) and return its URL."""
        with self._lock:
            path = f"/page-{next(self._numbers)}.html"
            self._pages[path] = page if callable(page) else (lambda: page)
        return self.url + path

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        build = self._pages.get(environ.get("PATH_INFO", ""))
        if build is None:
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [b"no such page"]
        body = build().encode("utf-8")
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Content-Length", str(len(body))),
                                  ("Cache-Control", "no-store")])
        return [body]


class ScriptOnlyService:
    """The service as a host sees it when only its script answers (from a cache, say) and the
    service itself is down: `.js` files are passed on from the real service, everything else
    fails, either as a network error would to a script (`refused`: no CORS header, so `fetch`
    rejects) or as an error page (`error`: a 503 that the script may read)."""

    def __init__(self, service: str, failure: str) -> None:
        assert failure in ("refused", "error"), failure
        self.service = service
        self.failure = failure

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.endswith(".js"):
            response = httpx.get(self.service + path, timeout=30)
            kind = response.headers.get("content-type", "text/javascript")
            start_response(f"{response.status_code} {response.reason_phrase}",
                           [("Content-Type", kind), ("Access-Control-Allow-Origin", "*")])
            return [response.content]
        headers = [("Content-Type", "text/html; charset=utf-8"), ("Retry-After", "60")]
        if self.failure == "error":
            headers.append(("Access-Control-Allow-Origin", "*"))
        start_response("503 Service Unavailable", headers)
        return [b"<h1>Service indisponible</h1><p>Erreur 503</p>"]


# --- host pages ----------------------------------------------------------------------------

# What some municipal themes do to everything on their pages. None of it may reach the widget
# rendered in a shadow root; inherited properties (font, colour, spacing) cross the shadow
# boundary unless the widget resets them, and rem units follow the host's root font size.
HOSTILE_CSS = """
* { all: unset !important; }
html { font-size: 40px !important; }
body { font: italic 40px/3 "Comic Sans MS", fantasy !important; color: #ff00ff !important;
       letter-spacing: .3em !important; word-spacing: 1em !important;
       text-transform: uppercase !important; text-align: right !important; }
ul, ol, li { display: none !important; }
a { color: transparent !important; text-decoration: none !important; }
img, time, p, button, h2, h3, h4 { display: none !important; }
h1, h2, h3, h4, h5, h6 { font-size: 60px !important; }
:focus { outline: none !important; box-shadow: none !important; }
[hidden] { display: block !important; }
"""


def host_page(body: str, *, title: str, style: str = "", head: str = "") -> str:
    """A plain, valid French page around `body`: its own markup must not spoil the audit."""
    return (f'<!doctype html><html lang="fr"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{style}</style>{head}</head>"
            f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>")


def query(options: Options) -> str:
    return urlencode({name: str(value) for name, value in options.items()})


def script_snippet(service: str, feed: str, options: Options, *, link_text: str) -> str:
    """The script embed as the contract words it: a fallback link, then the async script whose
    data-* attributes carry the options under the names of the query string."""
    attributes = "".join(f' data-{name}="{html.escape(str(value))}"'
                         for name, value in options.items())
    return (f'<div class="syndication-embed"><a href="{service}/feeds/{feed}.rss">'
            f"{html.escape(link_text)}</a></div>"
            f'<script src="{service}/embed/{feed}.js"{attributes} async></script>')


def frame_snippet(service: str, feed: str, options: Options, *, title: str) -> str:
    """The iframe embed for sites other than WordPress: the frame, marked for resize.js."""
    return (f'<iframe data-syndication-frame src="{service}/embed/{feed}/frame?{query(options)}"'
            f' title="{html.escape(title)}" height="150" style="display:block;width:100%;border:0">'
            f'</iframe><script src="{service}/embed/resize.js" async></script>')


def fragment_url(service: str, feed: str, options: Options) -> str:
    return f"{service}/embed/{feed}.html?{query(options)}"


def include(url: str, fallback: str) -> str:
    """A server-side include: the body fetched now, or `fallback` when the service fails (what a
    careful PHP include does)."""
    try:
        response = httpx.get(url, timeout=30)
    except httpx.HTTPError:
        return fallback
    return response.text if response.status_code == 200 else fallback


# WordPress's side of the embed protocol (wp-includes/js/wp-embed.js), as a WordPress page
# carries it for a provider outside its allow-list: the blockquote fallback, a sandboxed iframe
# hidden until it speaks, and the receiver. The secret is made here, as WordPress makes one per
# embed; messages with another secret or from another window are dropped; heights are clamped
# to 200–1000 px; a link is followed only to the iframe's own host and only when the iframe has
# focus (the reader clicked in it). Messages that pass are kept in `window.wpMessages` and
# logged to the console (so that a test can read them after the page has navigated away).
WORDPRESS_RECEIVER = """
(function () {
  var letters = 'abcdefghijklmnopqrstuvwxyz0123456789';
  var secret = Array.from(crypto.getRandomValues(new Uint8Array(10)),
                          function (byte) { return letters[byte % 36]; }).join('');
  var frame = document.querySelector('iframe.wp-embedded-content');
  var quote = document.querySelector('blockquote.wp-embedded-content');
  window.wpSecret = secret;
  window.wpMessages = [];
  frame.setAttribute('data-secret', secret);
  quote.setAttribute('data-secret', secret);
  window.addEventListener('message', function (event) {
    var data = event.data;
    if (!data || !(data.secret || data.message || data.value)) return;
    if (/[^a-zA-Z0-9]/.test(data.secret) || data.secret !== secret) return;
    if (event.source !== frame.contentWindow) return;
    window.wpMessages.push(data);
    console.info('wp-embed ' + JSON.stringify({data: data, secret: secret}));
    quote.style.display = 'none';
    frame.removeAttribute('style');
    if (data.message === 'height') {
      var height = parseInt(data.value, 10);
      frame.height = height > 1000 ? 1000 : (~~height < 200 ? 200 : height);
    }
    if (data.message === 'link') {
      var source = new URL(frame.getAttribute('src'), location.href);
      var target = new URL(data.value, source);
      if (/^https?:$/.test(target.protocol) && target.host === source.host &&
          document.activeElement === frame) {
        window.top.location.href = target.href;
      }
    }
  });
  frame.src = frame.getAttribute('data-src') + '#?secret=' + secret;
})();
"""


def wordpress_snippet(service: str, feed: str, options: Options, *, title: str) -> str:
    """What WordPress puts in a post for our oEmbed: blockquote + sandboxed iframe + receiver."""
    frame = f"{service}/embed/{feed}/frame?{query(options)}"
    return (f'<blockquote class="wp-embedded-content"><a href="{service}/feeds/{feed}.rss">'
            f"{html.escape(title)}</a></blockquote>"
            f'<iframe class="wp-embedded-content" sandbox="allow-scripts" security="restricted"'
            f' style="position: absolute; clip: rect(1px, 1px, 1px, 1px);"'
            f' title="{html.escape(title)}" data-src="{html.escape(frame)}" width="600"'
            f' height="338" frameborder="0" marginwidth="0" marginheight="0" scrolling="no">'
            f"</iframe><script>{WORDPRESS_RECEIVER}</script>")


# --- accessibility audit -------------------------------------------------------------------


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations in `page`, open shadow roots included, by all
    of axe's default rules (WCAG 2.0–2.2 A and AA, best practices), after injecting axe into it.
    Through the DevTools protocol: the page's own policy (script-src) rightly refuses a script
    tag that is not its own, and the audit must see the page as it is served."""
    session = page.context.new_cdp_session(page)
    try:
        session.send("Runtime.evaluate", {"expression": AXE_SCRIPT.read_text(encoding="utf-8")})
    finally:
        session.detach()
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [violation for violation in result["violations"]
            if violation["impact"] in BLOCKING_IMPACTS]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One line per violation and node, enough to find and fix it."""
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            lines.append(f"{violation['impact']} {violation['id']}: {violation['help']} at "
                         f"{json.dumps(node['target'])}: {node.get('failureSummary', '')!r}")
    return "\n".join(lines)
