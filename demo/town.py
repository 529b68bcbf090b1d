"""The demo's municipal website: a plain page on a port of its own (another origin than the
service's) that embeds the service's widgets the three ways a town's site can, as its web editor
would paste them from /embed/builder: the script, the iframe, and the fragment included on the
server (what a PHP, Drupal or SPIP site does with `readfile`). `syndication demo` serves it."""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlencode

log = logging.getLogger(__name__)

FRAGMENT_TIMEOUT = 3.0  # seconds; past it the page keeps the plain link, as a PHP include would

PAGE = """<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Commune de Saint-Exemple : la Région près de chez vous</title>
<style>
  body {{ font-family: Georgia, serif; max-width: 72rem; margin: 0 auto; padding: 1rem;
         color: #222; background: #fdfcf8; }}
  header {{ border-bottom: 4px solid #2e6b3a; margin-bottom: 1.5rem; }}
  main {{ display: grid; gap: 2rem; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); }}
  section h2 {{ font-size: 1.2rem; color: #2e6b3a; }}
</style>
</head>
<body>
<header>
  <h1>Commune de Saint-Exemple</h1>
  <p>Le site de la mairie. Ci-dessous, la Région Île-de-France, intégrée de trois façons.</p>
</header>
<main>
  <section>
    <h2>Les actualités de la Région (script)</h2>
    <div class="syndication-embed"><a href="{service}/feeds/actualites.rss">Toutes les
      actualités de la Région</a></div>
    <script src="{service}/embed/actualites.js" data-layout="cards" data-columns="1"
      data-count="3" data-heading="3" async></script>
  </section>
  <section>
    <h2>Région solidaire en chiffres (iframe)</h2>
    <iframe src="{service}/embed/region-solidaire/frame?layout=figures&amp;heading=3"
      title="Région solidaire : les chiffres clés" data-syndication-frame width="100%"
      height="320" style="border:0;width:100%" loading="lazy"></iframe>
    <script src="{service}/embed/resize.js" async></script>
  </section>
  <section>
    <h2>En bref (inclusion côté serveur)</h2>
    {fragment}
  </section>
  <section>
    <h2>Agenda de la Région (inclusion côté serveur)</h2>
    {agenda}
  </section>
</main>
</body>
</html>
"""


def municipal_page(service: str) -> str:
    """The page, with the fragments fetched now from the service (or the plain links without
    them: the service may be down, the page must still stand)."""
    news = include(service, "actualites", {"layout": "headlines", "count": 5, "heading": 3,
                                           "title": ""}, "Les actualités de la Région")
    agenda = include(service, "agenda", {"layout": "agenda", "count": 4, "heading": 3,
                                         "title": ""}, "L’agenda de la Région")
    return PAGE.format(service=escape(service), fragment=news, agenda=agenda)


def include(service: str, feed: str, options: dict[str, object], fallback: str) -> str:
    """A widget's fragment, as a PHP include reads it; a link to the feed if it cannot."""
    try:
        with urllib.request.urlopen(f"{service}/embed/{feed}.html?{urlencode(options)}",  # noqa: S310
                                    timeout=FRAGMENT_TIMEOUT) as answer:
            return str(answer.read().decode("utf-8"))
    except (urllib.error.URLError, OSError) as error:
        log.info("demo host page: %s fragment not included (%s)", feed, error)
        return f'<p><a href="{escape(service)}/feeds/{feed}.rss">{escape(fallback)}</a></p>'


class _Handler(BaseHTTPRequestHandler):
    server: MunicipalSite

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        if self.path.split("?")[0] not in ("/", "/index.html"):
            self.send_error(404)
            return
        body = municipal_page(self.server.service).encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        log.debug("demo host page: " + format, *args)


class MunicipalSite(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: str):
        super().__init__(address, _Handler)
        self.service = service.rstrip("/")


def start_municipal_site(host: str, port: int, service: str) -> MunicipalSite:
    """Serve the page in a background thread; port 0 picks a free port."""
    server = MunicipalSite((host, port), service)
    threading.Thread(target=server.serve_forever, name="municipal-site", daemon=True).start()
    return server
