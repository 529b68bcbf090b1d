"""Where the time of one cached hit goes (`python bench/profile_hit.py [URL...]`).

The store is filled from the bundled sample site as in bench/serve.py; the app is then called
as a WSGI server calls it, in this process, with no socket in between: a bare Flask route
returning the same bytes, the cached hit, and its 304, each timed over many calls (µs per
request, best of 5 rounds), then one cached hit profiled by cProfile over the same calls (top
entries by own time and by cumulative time). `--no-fast-path` profiles the Flask path alone.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from werkzeug.test import EnvironBuilder  # noqa: E402

from bench.serve import BASE_URL, FEED, MEDIA_TYPE, prepared_runtime  # noqa: E402
from syndication.app import create_app  # noqa: E402

CALLS = 20_000


def environ(path: str, headers: dict[str, str] | None = None) -> dict:
    host = BASE_URL.removeprefix("http://")
    return EnvironBuilder(path=path, base_url=f"http://{host}", headers=headers).get_environ()


def call(app, base: dict) -> bytes:  # noqa: ANN001 - any WSGI app
    """One request as a WSGI server makes it: a fresh environ, the body iterated and closed."""
    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        call.status = status  # type: ignore[attr-defined]

    result = app(dict(base), start_response)
    try:
        return b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()


def per_request(app, base: dict, calls: int = CALLS) -> float:  # noqa: ANN001
    """µs per request, best of 5 rounds (other load only ever slows a round down)."""
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls // 5):
            call(app, base)
        best = min(best, (time.perf_counter() - started) / (calls // 5))
    return best * 1e6


def baseline(body: bytes):  # noqa: ANN201
    from flask import Flask, Response

    app = Flask("baseline")
    app.add_url_rule(FEED, "feed", lambda: Response(body, content_type=MEDIA_TYPE))
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="*", default=[FEED])
    parser.add_argument("--no-fast-path", action="store_true")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--profile-304", action="store_true",
                        help="profile the revalidation (If-None-Match) instead of the hit")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        data = Path(tempfile.mkdtemp(prefix="bench-profile-"))
        stack.callback(shutil.rmtree, data, ignore_errors=True)
        runtime, _ = prepared_runtime(data, stack)
        app = create_app(runtime=runtime, fast_path=not args.no_fast_path)
        stack.callback(app.extensions["syndication.cache"].close)
        wsgi = app
        for url in args.urls:
            first = call(wsgi, environ(url))
            assert call.status.startswith("200"), (url, call.status)  # type: ignore[attr-defined]
            hit = environ(url)
            etag = app.test_client().get(url).headers["ETag"]
            not_modified = environ(url, {"If-None-Match": etag})
            call(wsgi, not_modified)
            assert call.status.startswith("304"), call.status  # type: ignore[attr-defined]
            bare = baseline(first)
            print(f"{url} ({len(first)} bytes): µs per request, best of 5 rounds of "
                  f"{CALLS // 5}, {'Flask path' if args.no_fast_path else 'fast path on'}")
            for name, target, base in (("bare Flask route", bare, environ(FEED)),
                                       ("cached hit", wsgi, hit), ("304", wsgi, not_modified)):
                print(f"  {name:<18}{per_request(target, base):8.1f}")
            profiled = not_modified if args.profile_304 else hit
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(CALLS // 4):
                call(wsgi, profiled)
            profile.disable()
            for order in ("tottime", "cumulative"):
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats(order).print_stats(args.top)
                if order == "cumulative":
                    pstats.Stats(profile, stream=out).sort_stats(order).print_stats(
                        "syndication|prometheus", 25)
                print(f"\n  cProfile of {CALLS // 4} {'304s' if args.profile_304 else 'hits'}, "
                      f"by {order}:")
                print("\n".join(line for line in out.getvalue().splitlines()[6:] if line))


if __name__ == "__main__":
    main()
