"""fetch over real loopback HTTP: the sample site, and a copy of it that misbehaves on demand."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from syndication.errors import (
    BodyTooLarge,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    TransportFailure,
    UndecodableBody,
    WrongContentType,
)
from syndication.fetch import Fetcher, Page, Unchanged, Validators
from syndication.fetch.addresses import parse_networks
from syndication.settings import load_settings

from .conftest import LOOPBACK
from .faulty_site import FaultySite

USER_AGENT = load_settings({}, environ={}).user_agent
NEWS = "/actualites/rer-b-nouvelles-rames-mi20"
CP1252_NEWS = "/actualites/budget-2026-vote"


def make_fetcher(*, timeout: float = 5.0, max_bytes: int = 1_000_000,
                 max_redirects: int = 5) -> Fetcher:
    return Fetcher(user_agent=USER_AGENT, timeout=timeout, max_bytes=max_bytes,
                   max_redirects=max_redirects, host_delay=0.0,
                   allowed_networks=parse_networks(LOOPBACK, "fetch_allowed_networks"))


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    client = make_fetcher()
    yield client
    client.close()


def fetch_page(fetcher: Fetcher, url: str, validators: Validators | None = None) -> Page:
    result = fetcher.fetch(url, validators)
    assert isinstance(result, Page), result
    return result


def fetch_error(fetcher: Fetcher, url: str, expected: type[FetchError]) -> FetchError:
    """Fetch a URL that must fail with `expected`; the error names the URL."""
    with pytest.raises(expected) as caught:
        fetcher.fetch(url)
    assert caught.value.url == url
    assert url in str(caught.value)
    return caught.value


# --- good pages --------------------------------------------------------------------------


def test_a_page_is_fetched_with_its_text_and_validators(fetcher: Fetcher,
                                                        sample_site: str) -> None:
    page = fetch_page(fetcher, sample_site + NEWS)
    assert page.url == sample_site + NEWS
    assert page.encoding == "utf-8"
    assert "RER B : les premières rames MI20 entrent en service" in page.text
    assert page.validators.last_modified  # the static server sends Last-Modified
    assert page.validators.request_headers()["If-Modified-Since"] == \
        page.validators.last_modified


def test_a_second_fetch_with_the_validators_is_unchanged(fetcher: Fetcher,
                                                         sample_site: str) -> None:
    first = fetch_page(fetcher, sample_site + NEWS)
    again = fetcher.fetch(sample_site + NEWS, first.validators)
    assert again == Unchanged(url=sample_site + NEWS)


def test_the_conditional_request_carries_the_validators(fetcher: Fetcher,
                                                        faulty_site: FaultySite) -> None:
    first = fetch_page(fetcher, faulty_site.url + NEWS)
    assert isinstance(fetcher.fetch(faulty_site.url + NEWS, first.validators), Unchanged)
    (_, plain), (_, conditional) = faulty_site.requests
    assert "If-Modified-Since" not in plain
    assert conditional["If-Modified-Since"] == first.validators.last_modified


def test_a_page_edited_since_is_fetched_again(fetcher: Fetcher, faulty_site: FaultySite) -> None:
    first = fetch_page(fetcher, faulty_site.url + NEWS)
    faulty_site.edit(NEWS.lstrip("/") + ".html", "entrent en service", "sont en service")
    second = fetch_page(fetcher, faulty_site.url + NEWS, first.validators)
    assert "RER B : les premières rames MI20 sont en service" in second.text
    assert second.validators.last_modified != first.validators.last_modified


def test_validators_ask_with_both_headers() -> None:
    validators = Validators(etag='"abc"', last_modified="Thu, 26 Nov 2026 08:00:00 GMT")
    assert validators.request_headers() == {
        "If-None-Match": '"abc"', "If-Modified-Since": "Thu, 26 Nov 2026 08:00:00 GMT"}
    assert Validators().request_headers() == {}


def test_a_windows_1252_page_is_decoded_as_such(fetcher: Fetcher, sample_site: str) -> None:
    page = fetch_page(fetcher, sample_site + CP1252_NEWS)
    assert page.encoding == "windows-1252"
    for character in ("€", "«", "»", "’", "é"):
        assert character in page.text, character
    assert "\ufffd" not in page.text


def test_directory_paths_serve_their_index(fetcher: Fetcher, sample_site: str) -> None:
    page = fetch_page(fetcher, sample_site + "/toutes-les-actualites")
    assert page.text.count("news-card__link") == 10


def test_the_user_agent_names_the_service_and_its_contact(fetcher: Fetcher,
                                                          faulty_site: FaultySite) -> None:
    fetch_page(fetcher, faulty_site.url + NEWS)
    (path, headers), = faulty_site.requests
    assert path == NEWS
    sent = headers["User-Agent"]
    assert sent == USER_AGENT
    assert sent.startswith("SyndicationBot/")
    assert load_settings({}, environ={}).contact_url in sent
    assert headers["Accept-Language"].startswith("fr")


def test_an_empty_redesigned_page_is_still_a_page(fetcher: Fetcher,
                                                  faulty_site: FaultySite) -> None:
    faulty_site.fail_with("empty")
    page = fetch_page(fetcher, faulty_site.url + NEWS)
    assert "<div id=app></div>" in page.text


# --- faults --------------------------------------------------------------------------------


def test_a_slow_server_times_out(faulty_site: FaultySite) -> None:
    faulty_site.server.slow_seconds = 1.0
    faulty_site.fail_with("slow")
    client = make_fetcher(timeout=0.2)
    try:
        fetch_error(client, faulty_site.url + NEWS, FetchTimeout)
    finally:
        client.close()


@pytest.mark.parametrize("status", [500, 404, 429])
def test_http_errors_carry_their_status(fetcher: Fetcher, faulty_site: FaultySite,
                                        status: int) -> None:
    faulty_site.fail_with(str(status))
    error = fetch_error(fetcher, faulty_site.url + NEWS, HTTPStatusError)
    assert isinstance(error, HTTPStatusError) and error.status == status
    assert str(status) in str(error)


def test_a_missing_page_of_the_real_site_is_a_404(fetcher: Fetcher, sample_site: str) -> None:
    error = fetch_error(fetcher, sample_site + "/actualites/trophees-solidarite-2025",
                        HTTPStatusError)
    assert isinstance(error, HTTPStatusError) and error.status == 404


def test_a_pdf_is_the_wrong_content_type(fetcher: Fetcher, faulty_site: FaultySite) -> None:
    faulty_site.fail_with("pdf")
    error = fetch_error(fetcher, faulty_site.url + NEWS, WrongContentType)
    assert "application/pdf" in str(error)


def test_an_image_is_the_wrong_content_type(fetcher: Fetcher, sample_site: str) -> None:
    fetch_error(fetcher, sample_site + "/media/logo.png", WrongContentType)


def test_a_huge_body_is_refused(faulty_site: FaultySite) -> None:
    faulty_site.fail_with("huge")
    client = make_fetcher(max_bytes=1_000_000)  # the page is 3 MB
    try:
        fetch_error(client, faulty_site.url + NEWS, BodyTooLarge)
    finally:
        client.close()


def test_a_body_under_the_limit_is_accepted(faulty_site: FaultySite) -> None:
    faulty_site.fail_with("huge")
    client = make_fetcher(max_bytes=4_000_000)
    try:
        assert len(fetch_page(client, faulty_site.url + NEWS).text) > 3_000_000
    finally:
        client.close()


def test_a_gzip_bomb_is_refused(fetcher: Fetcher, faulty_site: FaultySite) -> None:
    faulty_site.fail_with("gzip-bomb")  # ~20 kB on the wire, 20 MB once decompressed
    fetch_error(fetcher, faulty_site.url + NEWS, BodyTooLarge)


def test_binary_bytes_are_undecodable(fetcher: Fetcher, faulty_site: FaultySite) -> None:
    faulty_site.fail_with("binary")
    fetch_error(fetcher, faulty_site.url + NEWS, UndecodableBody)


def test_a_redirect_loop_is_a_transport_failure(fetcher: Fetcher,
                                                faulty_site: FaultySite) -> None:
    faulty_site.fail_with("redirect-loop")
    error = fetch_error(fetcher, faulty_site.url + NEWS, TransportFailure)
    assert "redirect" in str(error)
    assert len(faulty_site.requests) == 1 + 5  # the first request, then max_redirects


def test_a_truncated_body_is_a_fetch_error(fetcher: Fetcher, faulty_site: FaultySite) -> None:
    faulty_site.fail_with("truncated")
    fetch_error(fetcher, faulty_site.url + NEWS, FetchError)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_closed_port_is_a_transport_failure(fetcher: Fetcher) -> None:
    fetch_error(fetcher, f"http://127.0.0.1:{closed_port()}/actualites", TransportFailure)


def test_the_site_recovers_when_the_fault_clears(fetcher: Fetcher,
                                                 faulty_site: FaultySite) -> None:
    faulty_site.fail_with("500")
    fetch_error(fetcher, faulty_site.url + NEWS, HTTPStatusError)
    faulty_site.fail_with(None)
    assert "RER B" in fetch_page(fetcher, faulty_site.url + NEWS).text


# --- the kind of a failure to reach the server: /status says it in words -----------------------


def test_a_closed_port_is_a_refused_connection(fetcher: Fetcher) -> None:
    error = fetch_error(fetcher, f"http://127.0.0.1:{closed_port()}/actualites", TransportFailure)
    assert error.kind == "connection-refused"


def test_a_host_without_an_address_is_a_dns_failure(fetcher: Fetcher) -> None:
    error = fetch_error(fetcher, "http://no-such-host.invalid/actualites", TransportFailure)
    assert error.kind == "dns"


def test_https_to_a_server_without_tls_is_a_tls_failure(fetcher: Fetcher, sample_site: str) -> None:
    # The sample site speaks plain HTTP: the TLS handshake fails.
    error = fetch_error(fetcher, sample_site.replace("http://", "https://") + NEWS,
                        TransportFailure)
    assert error.kind == "tls"
