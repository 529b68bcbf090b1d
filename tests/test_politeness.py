"""The fetcher's politeness and its guard against untrusted URLs, over real loopback HTTP:
robots.txt, one request at a time per host with a minimum delay, Retry-After, and refused
addresses (each redirect hop included). The servers log every request with its time; the
assertions read that log. Retry-After windows run on a clock the test moves (tests/clocks.py).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from demo.sample_site import SITE_DIR
from syndication.errors import (
    ConfigError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    RateLimited,
    RefusedAddress,
    RobotsDisallowed,
    RobotsUnreachable,
)
from syndication.fetch import Fetcher, ImageBody, Page
from syndication.fetch.addresses import parse_networks
from syndication.fetch.client import MAX_RETRY_AFTER, parse_retry_after
from syndication.fetch.pacing import HostPacing, LocalPacing
from syndication.fetch.robots import ROBOTS_RETRY
from syndication.refresh import refresh
from syndication.settings import load_settings
from syndication.state import Hold

from .clocks import ManualClock
from .conftest import LOOPBACK
from .faulty_site import FaultySite
from .waiting import wait_until

USER_AGENT = load_settings({}, environ={}).user_agent
NEWS = "/actualites/rer-b-nouvelles-rames-mi20"
PAGES = ["/region-solidaire", NEWS, "/actualites/plan-velo-regional", "/dossiers/plan-climat",
         "/toutes-les-actualites"]
IMAGE = "/media/plan-velo-regional.jpg"
# The server notes a request's time once it has read it, and its end once it has answered: a
# hair after the client's own moments. Gaps are compared with this much slack, far below the
# delays under test.
SLACK = 0.01


def make_fetcher(*, host_delay: float = 0.0, allowed: str = LOOPBACK,
                 timeout: float = 5.0, pacing: HostPacing | None = None) -> Fetcher:
    return Fetcher(user_agent=USER_AGENT, timeout=timeout, max_bytes=1_000_000, max_redirects=5,
                   allowed_networks=parse_networks(allowed, "fetch_allowed_networks"),
                   host_delay=host_delay, pacing=pacing)


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    client = make_fetcher()
    yield client
    client.close()


@pytest.fixture
def other_site(tmp_path: Path) -> Iterator[FaultySite]:
    """A second host: another loopback address, so another host name for the fetcher."""
    site = FaultySite(SITE_DIR, tmp_path / "other", host="127.0.0.2")
    yield site
    site.stop()


def page_paths(site: FaultySite) -> list[str]:
    return [path for path, _ in site.requests]


def arrival_gaps(site: FaultySite) -> list[float]:
    times = sorted(t for t, _ in site.server.arrivals)
    return [b - a for a, b in zip(times, times[1:], strict=False)]


# --- robots.txt ------------------------------------------------------------------------------


def test_a_page_robots_txt_disallows_is_refused_without_a_request(
        fetcher: Fetcher, faulty_site: FaultySite) -> None:
    faulty_site.server.robots = "User-agent: *\nDisallow: /actualites/\n"
    url = faulty_site.url + NEWS
    with pytest.raises(RobotsDisallowed) as caught:
        fetcher.fetch(url)
    error = caught.value
    assert error.kind == "robots" and error.url == url and url in str(error)
    assert error.rule == "Disallow: /actualites/" and "Disallow: /actualites/" in str(error)
    assert page_paths(faulty_site) == []  # the page itself was never asked for
    assert isinstance(fetcher.fetch(faulty_site.url + "/region-solidaire"), Page)
    assert page_paths(faulty_site) == ["/region-solidaire"]
    with pytest.raises(RobotsDisallowed):  # images obey it too
        fetcher.fetch_image(faulty_site.url + "/actualites/photo.jpg")
    assert len(faulty_site.server.robots_requests) == 1


def test_the_group_for_our_product_token_is_the_one_obeyed(fetcher: Fetcher,
                                                           faulty_site: FaultySite) -> None:
    faulty_site.server.robots = (
        "User-agent: *\nDisallow: /\n\n"
        "User-agent: OtherBot\nDisallow: /region-solidaire\n\n"
        "User-agent: syndicationbot\nDisallow: /actualites/\n"
        "Allow: /actualites/plan-velo-regional\n")
    with pytest.raises(RobotsDisallowed) as caught:
        fetcher.fetch(faulty_site.url + NEWS)
    assert caught.value.rule == "Disallow: /actualites/"
    # Forbidden to every other robot, allowed to us; the longer Allow wins over the Disallow.
    assert isinstance(fetcher.fetch(faulty_site.url + "/region-solidaire"), Page)
    assert isinstance(fetcher.fetch(faulty_site.url + "/actualites/plan-velo-regional"), Page)
    (_, robots_headers), = faulty_site.server.robots_requests
    assert robots_headers["User-Agent"] == USER_AGENT


@pytest.mark.parametrize("status", [404, 410, 403])
def test_a_missing_robots_txt_allows_everything(fetcher: Fetcher, faulty_site: FaultySite,
                                                status: int) -> None:
    faulty_site.server.robots = status
    assert isinstance(fetcher.fetch(faulty_site.url + NEWS), Page)
    assert isinstance(fetcher.fetch_image(faulty_site.url + IMAGE), ImageBody)
    assert page_paths(faulty_site) == [NEWS, IMAGE]


def test_robots_txt_is_read_once_for_many_pages(fetcher: Fetcher,
                                                faulty_site: FaultySite) -> None:
    for path in PAGES:
        assert isinstance(fetcher.fetch(faulty_site.url + path), Page)
    fetcher.fetch_image(faulty_site.url + IMAGE)
    assert len(faulty_site.server.robots_requests) == 1
    assert [path for _, path in faulty_site.server.arrivals] == ["/robots.txt", *PAGES, IMAGE]


def test_threads_asking_together_read_robots_txt_once(fetcher: Fetcher,
                                                      faulty_site: FaultySite) -> None:
    faulty_site.server.robots_slow = 0.3  # every thread asks while the first download lasts
    with ThreadPoolExecutor(max_workers=len(PAGES)) as pool:
        pages = list(pool.map(lambda path: fetcher.fetch(faulty_site.url + path), PAGES))
    assert all(isinstance(page, Page) for page in pages)
    assert len(faulty_site.server.robots_requests) == 1
    assert sorted(page_paths(faulty_site)) == sorted(PAGES)


@pytest.mark.parametrize("status", [500, 503])
def test_a_robots_txt_server_error_means_try_later(fetcher: Fetcher, faulty_site: FaultySite,
                                                   status: int) -> None:
    faulty_site.server.robots = status
    faulty_site.server.retry_after = None
    url = faulty_site.url + NEWS
    with pytest.raises(RobotsUnreachable) as caught:
        fetcher.fetch(url)
    error = caught.value
    assert error.kind == "robots-unreachable" and error.url == url and str(status) in str(error)
    assert error.retry_after is not None and ROBOTS_RETRY - 5 < error.retry_after <= ROBOTS_RETRY
    assert page_paths(faulty_site) == []  # complete disallow: RFC 9309, section 2.3.1.4
    faulty_site.server.robots = None  # repaired, but not asked again before the retry time
    with pytest.raises(RobotsUnreachable):
        fetcher.fetch(faulty_site.url + "/region-solidaire")
    with pytest.raises(RobotsUnreachable):
        fetcher.fetch_image(faulty_site.url + IMAGE)
    assert len(faulty_site.server.robots_requests) == 1 and page_paths(faulty_site) == []


def test_a_robots_txt_503_with_retry_after_holds_the_host(fetcher: Fetcher,
                                                          faulty_site: FaultySite) -> None:
    faulty_site.server.robots = 503
    faulty_site.server.retry_after = "40"
    with pytest.raises(FetchError) as caught:
        fetcher.fetch(faulty_site.url + NEWS)
    assert caught.value.retry_after is not None and 35 < caught.value.retry_after <= 40
    with pytest.raises(RateLimited):
        fetcher.fetch(faulty_site.url + "/region-solidaire")
    assert len(faulty_site.server.robots_requests) == 1 and page_paths(faulty_site) == []


def test_a_robots_txt_that_does_not_answer_fails_the_page_and_is_asked_again(
        faulty_site: FaultySite) -> None:
    faulty_site.server.robots_slow = 1.0
    client = make_fetcher(timeout=0.3)
    try:
        url = faulty_site.url + NEWS
        with pytest.raises(FetchTimeout) as caught:
            client.fetch(url)
        assert caught.value.url == url
        assert page_paths(faulty_site) == []
        faulty_site.server.robots_slow = 0.0
        assert isinstance(client.fetch(url), Page)
        assert len(faulty_site.server.robots_requests) == 2
    finally:
        client.close()


def test_a_robots_txt_copy_read_earlier_applies_while_the_file_is_unreachable(
        faulty_site: FaultySite) -> None:
    client = make_fetcher()
    now = [0.0]
    client.robots._clock = lambda: now[0]  # an hour passes without waiting for it
    try:
        faulty_site.server.robots = "User-agent: *\nDisallow: /actualites/\n"
        with pytest.raises(RobotsDisallowed):
            client.fetch(faulty_site.url + NEWS)
        now[0] = 3601.0
        faulty_site.server.robots = 503
        faulty_site.server.retry_after = None
        with pytest.raises(RobotsDisallowed):  # the earlier rules, not a complete disallow
            client.fetch(faulty_site.url + NEWS)
        assert isinstance(client.fetch(faulty_site.url + "/region-solidaire"), Page)
        assert len(faulty_site.server.robots_requests) == 2
    finally:
        client.close()


def test_a_longer_crawl_delay_than_ours_is_honoured(faulty_site: FaultySite) -> None:
    faulty_site.server.robots = "User-agent: *\nCrawl-delay: 0.3\n"
    client = make_fetcher(host_delay=0.05)
    try:
        for path in PAGES[:3]:
            client.fetch(faulty_site.url + path)
    finally:
        client.close()
    gaps = arrival_gaps(faulty_site)
    assert len(gaps) == 3
    assert gaps[0] >= 0.05 - SLACK  # robots.txt, then the first page: our own delay
    assert all(gap >= 0.3 - SLACK for gap in gaps[1:]), gaps


# --- pacing ----------------------------------------------------------------------------------


def test_requests_to_one_host_are_spaced_by_the_delay(faulty_site: FaultySite) -> None:
    client = make_fetcher(host_delay=0.2)
    try:
        for path in PAGES[:4]:
            client.fetch(faulty_site.url + path)
    finally:
        client.close()
    gaps = arrival_gaps(faulty_site)
    assert len(gaps) == 4  # robots.txt and four pages
    assert all(gap >= 0.2 - SLACK for gap in gaps), gaps


def test_threads_take_turns_on_one_host(faulty_site: FaultySite) -> None:
    faulty_site.fail_with("slow")
    faulty_site.server.slow_seconds = 0.1
    client = make_fetcher(host_delay=0.1)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            pages = list(pool.map(lambda path: client.fetch(faulty_site.url + path), PAGES[:4]))
    finally:
        client.close()
    assert all(isinstance(page, Page) for page in pages)
    assert faulty_site.server.max_in_flight == 1  # one request at a time
    arrivals = sorted(t for t, path in faulty_site.server.arrivals if path != "/robots.txt")
    departures = sorted(t for t, path in faulty_site.server.departures if path != "/robots.txt")
    for departed, next_arrival in zip(departures, arrivals[1:], strict=False):
        assert next_arrival - departed >= 0.1 - SLACK  # the delay runs from the end of the last


def test_two_hosts_are_not_paced_against_each_other(faulty_site: FaultySite,
                                                    other_site: FaultySite) -> None:
    faulty_site.fail_with("slow")
    faulty_site.server.slow_gate = gate = threading.Event()  # the page answers once it is set
    faulty_site.server.slow_seconds = 120  # at most: a guard against a hang
    client = make_fetcher(host_delay=0.2, timeout=180)  # the slow page never times out here
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            slow = pool.submit(client.fetch, faulty_site.url + NEWS)
            wait_until(lambda: page_paths(faulty_site) == [NEWS], "the slow page being served")
            try:  # the other host, while the first one's request is under way
                assert isinstance(client.fetch(other_site.url + NEWS), Page)
                other_done = time.monotonic()
            finally:
                gate.set()
            assert isinstance(slow.result(), Page)
    finally:
        client.close()
    [(slow_left, _)] = [d for d in faulty_site.server.departures if d[1] == NEWS]
    [(other_arrived, _)] = [a for a in other_site.server.arrivals if a[1] == NEWS]
    assert other_arrived < slow_left and other_done < slow_left


# --- Retry-After -----------------------------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def paced_fetcher(clock: ManualClock) -> Iterator[Fetcher]:
    """A fetcher whose pacing (delays, Retry-After holds) runs on the test's clock."""
    client = make_fetcher(pacing=LocalPacing(clock=clock, sleep=clock.sleep))
    yield client
    client.close()


def test_a_429_with_retry_after_holds_the_host(paced_fetcher: Fetcher, clock: ManualClock,
                                               faulty_site: FaultySite,
                                               other_site: FaultySite) -> None:
    fetcher = paced_fetcher
    faulty_site.fail_with("429")
    faulty_site.server.retry_after = "30"
    url = faulty_site.url + NEWS
    with pytest.raises(RateLimited) as caught:
        fetcher.fetch(url)
    error = caught.value
    assert isinstance(error, HTTPStatusError) and error.status == 429
    assert error.kind == "rate-limited" and error.url == url
    assert error.retry_after == 30
    faulty_site.fail_with(None)  # the site is fine again, but asked us to wait
    for attempt, remaining in ((lambda: fetcher.fetch(faulty_site.url + "/region-solidaire"), 30),
                               (lambda: fetcher.fetch_image(faulty_site.url + IMAGE), 26)):
        with pytest.raises(RateLimited) as caught:
            attempt()
        assert caught.value.status == 429
        assert caught.value.retry_after == remaining  # what is left of the window
        clock.advance(4)
    assert page_paths(faulty_site) == [NEWS]  # nothing asked within the window
    assert len(faulty_site.server.robots_requests) == 1
    assert isinstance(fetcher.fetch(other_site.url + NEWS), Page)  # other hosts are not held


def test_a_503_with_an_http_date_holds_the_host_until_then(fetcher: Fetcher,
                                                           faulty_site: FaultySite) -> None:
    faulty_site.fail_with("503")
    faulty_site.server.retry_after = format_datetime(datetime.now(UTC) + timedelta(seconds=120),
                                                     usegmt=True)
    with pytest.raises(RateLimited) as caught:
        fetcher.fetch(faulty_site.url + NEWS)
    assert caught.value.status == 503
    assert caught.value.retry_after is not None and 110 < caught.value.retry_after <= 120
    faulty_site.fail_with(None)
    with pytest.raises(RateLimited):
        fetcher.fetch(faulty_site.url + NEWS)
    assert page_paths(faulty_site) == [NEWS]


def test_retry_after_is_capped_at_a_day(fetcher: Fetcher, faulty_site: FaultySite) -> None:
    faulty_site.fail_with("429")
    faulty_site.server.retry_after = "9999999999999"
    with pytest.raises(RateLimited) as caught:
        fetcher.fetch(faulty_site.url + NEWS)
    assert caught.value.retry_after == MAX_RETRY_AFTER == 86_400


@pytest.mark.parametrize("fault", ["429", "503"])
def test_without_retry_after_the_status_is_only_an_error(fetcher: Fetcher,
                                                         faulty_site: FaultySite,
                                                         fault: str) -> None:
    faulty_site.fail_with(fault)
    faulty_site.server.retry_after = None
    with pytest.raises(HTTPStatusError) as caught:
        fetcher.fetch(faulty_site.url + NEWS)
    assert not isinstance(caught.value, RateLimited) and caught.value.retry_after is None
    faulty_site.fail_with(None)
    assert isinstance(fetcher.fetch(faulty_site.url + NEWS), Page)  # no hold
    assert page_paths(faulty_site) == [NEWS, NEWS]


def test_the_host_is_asked_again_once_the_window_has_passed(
        paced_fetcher: Fetcher, clock: ManualClock, faulty_site: FaultySite) -> None:
    fetcher = paced_fetcher
    faulty_site.fail_with("429")
    faulty_site.server.retry_after = "1"
    with pytest.raises(RateLimited):
        fetcher.fetch(faulty_site.url + NEWS)
    faulty_site.fail_with(None)
    clock.advance(0.5)
    with pytest.raises(RateLimited) as caught:
        fetcher.fetch(faulty_site.url + NEWS)
    assert caught.value.retry_after == 0.5  # what is left of the window
    assert page_paths(faulty_site) == [NEWS]
    clock.advance(0.5)  # the second asked for has passed
    assert isinstance(fetcher.fetch(faulty_site.url + NEWS), Page)
    assert page_paths(faulty_site) == [NEWS, NEWS]
    assert clock.sleeps == []  # no delay between requests here (host_delay 0)


def test_local_pacing_spaces_requests_from_the_end_of_the_last_and_holds_a_host() -> None:
    clock = ManualClock()
    pacing = LocalPacing(clock=clock, sleep=clock.sleep)
    with pacing.turn("a.test", 2.0):
        clock.advance(0.5)  # the request lasts half a second
    clock.advance(0.25)
    with pacing.turn("a.test", 2.0):
        pass
    assert clock.sleeps == [1.75]  # the delay runs from the end of the last request
    with pacing.turn("b.test", 2.0):  # another host: no wait
        pass
    assert clock.sleeps == [1.75]
    pacing.hold("a.test", 30, 429)
    pacing.hold("a.test", 10, 503)  # a shorter hold does not cut the longer one short
    assert pacing.held("a.test") == Hold(429, 30) and pacing.held("b.test") is None
    clock.advance(29.5)
    assert pacing.held("a.test") == Hold(429, 0.5)
    clock.advance(0.5)
    assert pacing.held("a.test") is None


@pytest.mark.parametrize("value, seconds", [
    ("120", 120.0), (" 5 ", 5.0), ("0", 0.0), ("Wed, 01 Jan 2031 00:02:00 GMT", 120.0),
    ("Tue, 31 Dec 2030 23:00:00 GMT", 0.0),  # already past
    ("Fri, 31 Jan 2031 00:00:00 GMT", 86_400.0),  # capped
    (None, None), ("", None), ("soon", None), ("-5", None), ("1.5", None),
])
def test_retry_after_values(value: str | None, seconds: float | None) -> None:
    now = datetime(2031, 1, 1, tzinfo=UTC)
    assert parse_retry_after(value, now) == seconds


# --- through a refresh -----------------------------------------------------------------------


def test_a_rate_limited_source_keeps_its_items_and_says_so(site_runtime,  # noqa: ANN001
                                                           faulty_site: FaultySite) -> None:
    source = site_runtime.catalogue.sources["region-solidaire"]
    assert refresh(source, site_runtime).outcome == "ok"
    kept = site_runtime.store.feed_items("region-solidaire", limit=50)
    faulty_site.fail_with("429")
    faulty_site.server.retry_after = "3600"
    faulty_site.edit("region-solidaire.html", "Partager la page", "Partager")  # no 304
    assert refresh(source, site_runtime).outcome == "failed"
    status = site_runtime.store.source_status("region-solidaire")
    assert status.last_error_kind == "rate-limited" and faulty_site.url in status.last_error
    asked = len(faulty_site.requests)
    assert refresh(source, site_runtime).outcome == "failed"  # at once, without asking
    assert len(faulty_site.requests) == asked
    assert site_runtime.store.feed_items("region-solidaire", limit=50) == kept


def test_a_source_robots_txt_forbids_fails_with_kind_robots(site_runtime,  # noqa: ANN001
                                                            faulty_site: FaultySite) -> None:
    faulty_site.server.robots = "User-agent: SyndicationBot\nDisallow: /\n"
    source = site_runtime.catalogue.sources["region-solidaire"]
    result = refresh(source, site_runtime)
    assert result.outcome == "failed" and "robots.txt" in (result.error or "")
    assert site_runtime.store.source_status("region-solidaire").last_error_kind == "robots"
    assert faulty_site.requests == []


# --- untrusted URLs --------------------------------------------------------------------------


def test_loopback_is_refused_unless_the_operator_allows_it(faulty_site: FaultySite) -> None:
    strict = make_fetcher(allowed="")
    try:
        for url in (faulty_site.url + NEWS, faulty_site.url.replace("127.0.0.1", "localhost")):
            with pytest.raises(RefusedAddress) as caught:
                strict.fetch(url)
            assert caught.value.kind == "refused-address" and caught.value.url == url
            assert "127.0.0.1" in str(caught.value)  # what the name resolved to
        with pytest.raises(RefusedAddress):
            strict.fetch_image(faulty_site.url + IMAGE)
    finally:
        strict.close()
    assert faulty_site.server.arrivals == []  # not even robots.txt was asked for
    allowed = make_fetcher(allowed="127.0.0.0/8")
    try:
        # Checked after DNS resolution: the name is admitted for its address.
        assert isinstance(allowed.fetch(faulty_site.url.replace("127.0.0.1", "localhost") + NEWS),
                          Page)
    finally:
        allowed.close()


@pytest.mark.parametrize("url", [
    "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://192.168.1.1/x",
    "http://172.16.0.1/", "http://[fe80::1]/", "http://[::1]/", "http://0.0.0.0/",
    "http://224.0.0.1/", "http://[::ffff:10.0.0.1]/", "ftp://127.0.0.1/x", "file:///etc/passwd",
    "http://user:secret@127.0.0.1/", "javascript:alert(1)",
    # IPv6 wrappers a gateway unwraps: NAT64 and IPv4-compatible forms of 10.0.0.1, 6to4 and
    # NAT64 forms of the metadata service.
    "http://[64:ff9b::a00:1]/", "http://[::a00:1]/", "http://[2002:a9fe:a9fe::]/",
    "http://[64:ff9b::a9fe:a9fe]/latest/meta-data/",
])
def test_private_link_local_and_other_addresses_are_refused(url: str) -> None:
    # Only 127.0.0.0/8 is admitted; the others are refused before any connection (one to
    # 10.0.0.1 would time out or fail to connect, not be refused).
    fetcher = make_fetcher(allowed="127.0.0.0/8")
    try:
        with pytest.raises(RefusedAddress) as caught:
            fetcher.fetch(url)
        assert caught.value.url == url and caught.value.kind == "refused-address"
        with pytest.raises(RefusedAddress):
            fetcher.fetch_image(url)
    finally:
        fetcher.close()


@pytest.mark.parametrize("target", ["http://10.0.0.1/admin",
                                    "http://169.254.169.254/latest/meta-data/iam/"])
def test_a_redirect_to_a_private_address_is_refused(fetcher: Fetcher, faulty_site: FaultySite,
                                                    target: str) -> None:
    faulty_site.fail_with("redirect-private")
    faulty_site.server.redirect_target = target
    url = faulty_site.url + NEWS
    with pytest.raises(RefusedAddress) as caught:
        fetcher.fetch(url)
    assert caught.value.url == url and target in str(caught.value)
    with pytest.raises(RefusedAddress):
        fetcher.fetch_image(faulty_site.url + IMAGE)
    assert page_paths(faulty_site) == [NEWS, IMAGE]  # the redirects, and nothing after them


@pytest.mark.parametrize("target", ["javascript:alert(1)", "data:text/html,<script>x</script>",
                                    "mailto:a@example.org", "ftp://example.org/x"])
def test_a_redirect_to_another_scheme_is_refused(fetcher: Fetcher, faulty_site: FaultySite,
                                                 target: str) -> None:
    """httpx prepares a redirect's next request even when it follows none, and fails there on
    a Location like javascript:…: that is a refusal (nothing is sent), not an unreachable
    server."""
    faulty_site.redirect_path(NEWS, target)
    url = faulty_site.url + NEWS
    with pytest.raises(RefusedAddress) as caught:
        fetcher.fetch(url)
    assert caught.value.url == url and caught.value.kind == "refused-address"
    assert "not http(s)" in str(caught.value) or "must be an http or https URL" in str(
        caught.value)
    assert page_paths(faulty_site) == [NEWS]


def test_a_redirect_hop_passes_the_same_checks_as_the_first_url(
        fetcher: Fetcher, faulty_site: FaultySite, other_site: FaultySite) -> None:
    faulty_site.fail_with("redirect-private")
    faulty_site.server.redirect_target = other_site.url + NEWS  # allowed: 127.0.0.2
    page = fetcher.fetch(faulty_site.url + NEWS)
    assert isinstance(page, Page) and page.url == other_site.url + NEWS
    assert "RER B" in page.text
    assert page_paths(other_site) == [NEWS] and len(other_site.server.robots_requests) == 1
    # The hop's own robots.txt applies to it.
    other_site.server.robots = "User-agent: *\nDisallow: /actualites/\n"
    faulty_site.server.redirect_target = other_site.url + "/actualites/plan-velo-regional"
    blocked = make_fetcher()
    try:
        with pytest.raises(RobotsDisallowed) as caught:
            blocked.fetch(faulty_site.url + NEWS)
    finally:
        blocked.close()
    assert caught.value.url == faulty_site.url + NEWS
    assert other_site.url + "/actualites/plan-velo-regional" in str(caught.value)
    assert page_paths(other_site) == [NEWS]


def test_the_service_fetcher_takes_its_allow_list_and_delay_from_settings() -> None:
    strict = Fetcher.from_settings(load_settings({}, environ={}))
    try:
        assert strict.allowed_networks == () and strict.host_delay == 1.0
    finally:
        strict.close()
    settings = load_settings(environ={"SYNDICATION_FETCH_ALLOWED_NETWORKS": "10.0.0.0/8, ::1/128",
                                      "SYNDICATION_HOST_DELAY": "0.5"})
    configured = Fetcher.from_settings(settings)
    try:
        assert [str(a.network) for a in configured.allowed_networks] == ["10.0.0.0/8", "::1/128"]
        assert configured.host_delay == 0.5
    finally:
        configured.close()
    with pytest.raises(ConfigError, match="fetch_allowed_networks"):
        Fetcher.from_settings(load_settings({"fetch_allowed_networks": "127.0.0.0/8, loopback"},
                                            environ={}))
    with pytest.raises(ConfigError, match="host_delay"):
        Fetcher.from_settings(load_settings({"host_delay": -1.0}, environ={}))


def test_one_hold_is_seen_by_every_thread(fetcher: Fetcher, faulty_site: FaultySite) -> None:
    faulty_site.fail_with("429")
    faulty_site.server.retry_after = "60"
    with pytest.raises(RateLimited):
        fetcher.fetch(faulty_site.url + NEWS)
    errors: list[BaseException] = []

    def attempt(path: str) -> None:
        try:
            fetcher.fetch(faulty_site.url + path)
        except FetchError as error:
            errors.append(error)

    threads = [threading.Thread(target=attempt, args=(path,)) for path in PAGES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == len(PAGES) and all(isinstance(e, RateLimited) for e in errors)
    assert page_paths(faulty_site) == [NEWS]


# --- origins, not hosts ------------------------------------------------------------------------


def test_a_hold_is_per_origin_not_per_machine(fetcher: Fetcher, faulty_site: FaultySite,
                                              tmp_path: Path) -> None:
    """Two services on one machine are two sites: a 429 from one holds that one only."""
    neighbour = FaultySite(SITE_DIR, tmp_path / "neighbour", host="127.0.0.1")
    try:
        faulty_site.fail_with("429")
        with pytest.raises(RateLimited):
            fetcher.fetch(faulty_site.url + NEWS)
        assert isinstance(fetcher.fetch(neighbour.url + NEWS), Page)  # same host, other port
        faulty_site.fail_with(None)
        with pytest.raises(RateLimited):
            fetcher.fetch(faulty_site.url + "/region-solidaire")
    finally:
        neighbour.stop()


@pytest.mark.parametrize(("value", "expected"), [
    ("127.0.0.0/8", [("127.0.0.0/8", None)]),
    ("127.0.0.1:8300", [("127.0.0.1/32", 8300)]),
    ("10.0.0.0/8:9000, [::1]:8300", [("10.0.0.0/8", 9000), ("::1/128", 8300)]),
    ("fd00::/8", [("fd00::/8", None)]),
    ("[fd00::/8]:443", [("fd00::/8", 443)]),
])
def test_the_allow_list_takes_networks_and_hosts_each_with_a_port(
        value: str, expected: list[tuple[str, int | None]]) -> None:
    assert [(str(a.network), a.port) for a in parse_networks(value, "x")] == expected


def test_a_name_in_the_allow_list_is_resolved_once() -> None:
    [*allowed] = parse_networks("localhost:8300", "fetch_allowed_networks")
    assert allowed and all(a.port == 8300 and a.network.num_addresses == 1 for a in allowed)
    assert any(str(a.network) == "127.0.0.1/32" for a in allowed)


@pytest.mark.parametrize("value", ["127.0.0.1:99999", "not a host!", "[::1", "127.0.0.1:80:81"])
def test_a_wrong_allow_list_names_the_setting(value: str) -> None:
    with pytest.raises(ConfigError, match="fetch_allowed_networks"):
        parse_networks(value, "fetch_allowed_networks")


def test_a_port_in_the_allow_list_admits_that_port_only(faulty_site: FaultySite) -> None:
    port = int(faulty_site.url.rsplit(":", 1)[1])
    client = make_fetcher(allowed=f"127.0.0.1:{port}")
    try:
        assert isinstance(client.fetch(faulty_site.url + NEWS), Page)
        with pytest.raises(RefusedAddress):  # the same machine's Redis, say: not admitted
            client.fetch(f"http://127.0.0.1:{port + 1 if port < 65535 else port - 1}/")
    finally:
        client.close()
