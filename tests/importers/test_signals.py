"""`sellerloop import signals PATH_OR_URL --account ID`: news and job feeds and web pages, from files and URLs.

URLs are served by a local HTTP server on 127.0.0.1 (a free port, a background thread), never the internet.
"""
from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from sellerloop import __version__
from sellerloop.errors import BadInput
from sellerloop.importers.signals import USER_AGENT, FetchFailed, read_signals
from sellerloop.records.models import Signal
from sellerloop.store.db import create_store_engine, session_scope

FIXTURES = Path(__file__).parent / "fixtures" / "signals"
ACCOUNT = "cancity"
TIMEOUT = "0.5"  # seconds; the slow endpoint takes longer than this
SLOW_SECONDS = 2.0

ROBOTS = "User-agent: *\nDisallow: /private/\n"
PAGES = {  # path -> (status, content type, body); a callable body is computed per request
    "/news.rss": (200, "application/rss+xml; charset=utf-8", (FIXTURES / "news.rss").read_bytes()),
    "/jobs.atom": (200, "application/atom+xml", (FIXTURES / "jobs.atom").read_bytes()),
    # a feed served with the wrong content type is still a feed: the content decides
    "/feeds/latest": (200, "text/plain", (FIXTURES / "news.rss").read_bytes()),
    "/blog/packaging": (200, "text/html; charset=utf-8", (FIXTURES / "article.html").read_bytes()),
    "/private/plans": (200, "text/html; charset=utf-8", (FIXTURES / "article.html").read_bytes()),
    "/broken.rss": (200, "application/rss+xml", (FIXTURES / "broken.rss").read_bytes()),
    "/empty": (200, "text/html", (FIXTURES / "empty.html").read_bytes()),
    "/error": (500, "text/plain", b"boom"),
    "/gone": (404, "text/plain", b"not here"),
    "/logo.png": (200, "image/png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64),
}
REDIRECTS = {"/old-news": "/news.rss", "/shortcut": "/private/plans", "/to-ftp": "ftp://127.0.0.1/x"}


@dataclass
class Site:
    """A local web site: its base URL and the requests it has seen, as (path, User-Agent)."""

    base: str
    requests: list[tuple[str, str]] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base + path


def _serve(*, robots: str | None) -> Iterator[Site]:
    site = Site(base="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            site.requests.append((self.path, self.headers.get("User-Agent", "")))
            try:
                if self.path == "/robots.txt":
                    if robots is None:
                        return self._send(404, "text/plain", b"no robots.txt here")
                    return self._send(200, "text/plain", robots.encode())
                if self.path == "/slow":
                    time.sleep(SLOW_SECONDS)
                    return self._send(200, "application/rss+xml", PAGES["/news.rss"][2])
                if self.path in REDIRECTS:
                    self.send_response(302)
                    self.send_header("Location", REDIRECTS[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                status, content_type, body = PAGES.get(self.path, (404, "text/plain", b"not found"))
                return self._send(status, content_type, body)
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (the timeout test)
                return None

        def _send(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # keep the test output clean
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True  # a sleeping /slow handler must not hold up the shutdown
    site.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    """A site whose robots.txt disallows /private/."""
    yield from _serve(robots=ROBOTS)


@pytest.fixture(scope="module")
def bare_site() -> Iterator[Site]:
    """A site with no robots.txt (404): everything is allowed."""
    yield from _serve(robots=None)


def _import(cli, store, source, *extra):
    result = cli(store, "import", "signals", source, "--account", ACCOUNT, "--timeout", TIMEOUT, "--json", *extra)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _fails(cli, store, source, *extra, code=2):
    result = cli(store, "import", "signals", source, "--account", ACCOUNT, "--timeout", TIMEOUT, *extra)
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


def _signals(store) -> dict[str, Signal]:
    engine = create_store_engine(store.url)
    with session_scope(engine) as s:
        rows = {signal.id: signal for signal in s.query(Signal).all()}
        s.expunge_all()
    engine.dispose()
    return rows


def _count(cli, store) -> int:
    return json.loads(cli(store, "stats", "--json").stdout)["signals"]["total"]


# ------------------------------------------------------------------------------------------------ feeds


def test_an_rss_file_gives_one_news_signal_per_item(maven_copy, cli):
    report = _import(cli, maven_copy, FIXTURES / "news.rss")

    assert (report["new"], report["updated"], report["account_id"]) == (3, 0, ACCOUNT)
    stored = _signals(maven_copy)
    assert sorted(stored) == sorted(report["ids"])
    by_url = {s.url: s for s in stored.values()}
    plant = by_url["https://news.cancity.example/2026/10/second-plant"]
    assert (plant.kind, plant.account_id, plant.source_name, plant.synthetic) == \
        ("news", ACCOUNT, "Cancity Newsroom", False)
    assert plant.title == "Cancity opens a second plant in Ohio"
    assert plant.published_at.replace(tzinfo=None) == dt.datetime(2026, 10, 13, 9, 30)
    # HTML stripped, paragraphs kept apart
    assert plant.body == "Cancity will open a second plant in Dayton, Ohio, adding 400 jobs.\n" \
                         "Production starts in March 2027."


def test_full_content_wins_over_the_summary_and_scripts_are_dropped(maven_copy, cli):
    _import(cli, maven_copy, FIXTURES / "news.rss")
    cfo = next(s for s in _signals(maven_copy).values() if s.url.endswith("/new-cfo"))

    assert cfo.body == ("Priya Raman joins Cancity as Chief Financial Officer on 1 November.\n"
                        "Previously CFO at Tinbridge\nReports to the CEO")
    assert "alert" not in cfo.body and "<" not in cfo.body
    # published "Mon, 21 Sep 2026 14:00:00 +0200" is stored as UTC
    assert (cfo.published_at.hour, cfo.published_at.day) == (12, 21)


def test_an_item_without_a_date_is_kept_with_no_date(maven_copy, cli):
    _import(cli, maven_copy, FIXTURES / "news.rss")
    q3 = next(s for s in _signals(maven_copy).values() if s.url.endswith("/q3-results"))

    assert q3.published_at is None
    assert q3.body == "Revenue rose 12 % to 310 million USD."


def test_an_atom_jobs_feed_from_a_url_gives_job_postings(maven_copy, cli, bare_site):
    report = _import(cli, maven_copy, bare_site.url("/jobs.atom"))

    assert report["new"] == 2
    assert {s["kind"] for s in report["signals"]} == {"job_posting"}
    stored = {s.url: s for s in _signals(maven_copy).values()}
    security = stored["https://careers.cancity.example/jobs/1043"]
    assert security.title == "Security Engineer (SOC 2)"
    assert security.body == "Prepare our first SOC 2 Type II audit."
    assert security.source_name == "Open positions at Cancity"
    # published wins over updated; +01:00 becomes UTC
    assert (security.published_at.day, security.published_at.hour) == (28, 11)
    # robots.txt was asked for (a 404 there allows everything), with the same User-Agent as the feed
    assert ("/robots.txt", USER_AGENT) in bare_site.requests
    assert ("/jobs.atom", USER_AGENT) in bare_site.requests
    assert USER_AGENT == f"sellerloop/{__version__} (+https://github.com/sellerloop)"


def test_kind_option_overrides_the_guess(maven_copy, cli):
    report = _import(cli, maven_copy, FIXTURES / "news.rss", "--kind", "job_posting")

    assert {s["kind"] for s in report["signals"]} == {"job_posting"}


def test_a_feed_is_recognised_by_its_content_not_its_content_type_or_name(maven_copy, cli, site, tmp_path):
    served_as_text = _import(cli, maven_copy, site.url("/feeds/latest"))
    renamed = tmp_path / "download.html"
    renamed.write_bytes((FIXTURES / "jobs.atom").read_bytes())
    from_file = _import(cli, maven_copy, renamed)

    assert {s["kind"] for s in served_as_text["signals"]} == {"news"} and len(served_as_text["ids"]) == 3
    assert len(from_file["ids"]) == 2  # an Atom feed, whatever its file is called


def test_reimporting_updates_the_same_signals_instead_of_adding_copies(maven_copy, cli, site):
    first = _import(cli, maven_copy, FIXTURES / "news.rss")
    again = _import(cli, maven_copy, FIXTURES / "news.rss")
    same_items_by_url = _import(cli, maven_copy, site.url("/news.rss"))

    assert (again["new"], again["updated"]) == (0, 3)
    assert again["ids"] == first["ids"] == same_items_by_url["ids"]
    assert _count(cli, maven_copy) == 3


def test_the_same_item_on_another_account_is_another_signal(maven_copy, cli):
    first = _import(cli, maven_copy, FIXTURES / "news.rss")
    result = cli(maven_copy, "import", "signals", FIXTURES / "news.rss", "--account", "betatech", "--json")
    other = json.loads(result.stdout)

    assert other["new"] == 3 and not set(other["ids"]) & set(first["ids"])


def test_the_plain_output_says_how_many_were_new_and_updated(maven_copy, cli):
    cli(maven_copy, "import", "signals", FIXTURES / "news.rss", "--account", ACCOUNT)
    result = cli(maven_copy, "import", "signals", FIXTURES / "news.rss", "--account", ACCOUNT)

    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith(": 0 new, 3 updated")
    assert "Cancity opens a second plant in Ohio" in result.stdout


def test_a_redirect_to_a_feed_is_followed(maven_copy, cli, site):
    report = _import(cli, maven_copy, site.url("/old-news"))

    assert report["new"] == 3


# ------------------------------------------------------------------------------------------------ pages


def test_an_html_page_url_gives_one_web_page_with_its_main_text(maven_copy, cli, site):
    url = site.url("/blog/packaging")
    report = _import(cli, maven_copy, url)

    assert report["new"] == 1 and report["signals"][0]["kind"] == "web_page"
    page = _signals(maven_copy)[report["ids"][0]]
    assert (page.url, page.title, page.source_name) == (url, "Cancity picks a new packaging supplier",
                                                        "Cancity Blog")
    assert page.published_at.date().isoformat() == "2026-11-05"
    assert "cut packaging costs by 8 % in 2027" in page.body
    assert "Procurement lead Jordan Alvarez" in page.body
    for boilerplate in ("Sign in to the customer portal", "All rights reserved", "Terms of use", "About us"):
        assert boilerplate not in page.body


def test_an_html_file_is_a_page_cited_by_its_file_uri(maven_copy, cli):
    report = _import(cli, maven_copy, FIXTURES / "article.html")
    page = _signals(maven_copy)[report["ids"][0]]

    assert page.kind == "web_page"
    assert page.url == (FIXTURES / "article.html").resolve().as_uri()
    assert "six-month review of eleven vendors" in page.body


def test_imported_signals_resolve_as_sources_by_id_and_by_url(maven_copy, cli, site):
    feed = _import(cli, maven_copy, FIXTURES / "news.rss")
    url = site.url("/blog/packaging")
    page = _import(cli, maven_copy, url)

    by_id = cli(maven_copy, "source", "show", f"signal:{feed['ids'][0]}")
    by_url = cli(maven_copy, "source", "show", "https://news.cancity.example/2026/10/second-plant")
    page_by_url = cli(maven_copy, "source", "show", url, "--json")

    assert by_id.exit_code == by_url.exit_code == page_by_url.exit_code == 0, by_id.stderr + by_url.stderr
    assert "Cancity opens a second plant in Ohio" in by_id.stdout
    assert "adding 400 jobs" in by_id.stdout and by_id.stdout == by_url.stdout
    shown = json.loads(page_by_url.stdout)
    assert shown["kind"] == "signal" and shown["record_id"] == ACCOUNT
    assert shown["anchor"] == f"signal-{page['ids'][0]}"
    assert "Procurement lead Jordan Alvarez" in shown["text"]


# ------------------------------------------------------------------------------------------------ refusals


def test_a_url_disallowed_by_robots_txt_is_refused_and_nothing_is_stored(maven_copy, cli, site):
    error = _fails(cli, maven_copy, site.url("/private/plans"))

    assert "robots.txt" in error and site.url("/private/plans") in error
    assert _count(cli, maven_copy) == 0
    assert ("/private/plans", USER_AGENT) not in site.requests  # not even fetched


def test_a_redirect_into_a_disallowed_path_is_refused_too(maven_copy, cli, site):
    error = _fails(cli, maven_copy, site.url("/shortcut"))

    assert "robots.txt" in error and "redirected to" in error
    assert _count(cli, maven_copy) == 0


def test_a_slow_server_times_out_with_one_clean_line(maven_copy, cli, site):
    started = time.monotonic()
    error = _fails(cli, maven_copy, site.url("/slow"), code=1)

    assert time.monotonic() - started < SLOW_SECONDS
    assert site.url("/slow") in error and "timed out after 0.5 s" in error and "try again" in error
    assert _count(cli, maven_copy) == 0


def test_a_timeout_is_not_permanent_so_a_retry_may_help(site):
    with pytest.raises(FetchFailed) as caught:
        read_signals(site.url("/slow"), timeout=0.3)

    assert caught.value.permanent is False


def test_a_server_error_is_a_temporary_failure(maven_copy, cli, site):
    error = _fails(cli, maven_copy, site.url("/error"), code=1)

    assert "HTTP 500" in error and site.url("/error") in error and "try again" in error
    with pytest.raises(FetchFailed) as caught:
        read_signals(site.url("/error"), timeout=1)
    assert caught.value.permanent is False
    assert _count(cli, maven_copy) == 0


def test_a_missing_page_is_bad_input(maven_copy, cli, site):
    error = _fails(cli, maven_copy, site.url("/gone"))

    assert "HTTP 404" in error and site.url("/gone") in error


def test_a_refused_connection_is_a_temporary_failure(maven_copy, cli):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/news.rss"

    error = _fails(cli, maven_copy, url, code=1)

    assert url in error and "could not connect" in error


def test_a_broken_feed_is_refused_with_the_parser_message(maven_copy, cli, site):
    from_url = _fails(cli, maven_copy, site.url("/broken.rss"))
    from_file = _fails(cli, maven_copy, FIXTURES / "broken.rss")

    assert "broken.rss" in from_file and "not well-formed" in from_file and "line" in from_file
    assert site.url("/broken.rss") in from_url
    assert _count(cli, maven_copy) == 0


def test_a_malformed_feed_with_no_entries_is_refused(maven_copy, cli, tmp_path):
    truncated = tmp_path / "truncated.xml"
    truncated.write_text('<?xml version="1.0"?>\n<rss version="2.0"><channel><title>Cut off</title><ite')

    error = _fails(cli, maven_copy, truncated)

    assert "malformed feed with no entries" in error and "truncated.xml" in error


def test_a_well_formed_empty_feed_imports_nothing_and_succeeds(maven_copy, cli, tmp_path):
    empty = tmp_path / "empty.rss"
    empty.write_text('<rss version="2.0"><channel><title>Quiet</title></channel></rss>')

    report = _import(cli, maven_copy, empty)

    assert (report["new"], report["updated"], report["ids"]) == (0, 0, [])


def test_a_page_with_no_main_text_is_refused(maven_copy, cli, site):
    error = _fails(cli, maven_copy, site.url("/empty"))

    assert "no main text" in error and site.url("/empty") in error
    assert _count(cli, maven_copy) == 0


def test_an_image_is_neither_a_feed_nor_a_page(maven_copy, cli, site):
    error = _fails(cli, maven_copy, site.url("/logo.png"))

    assert "image/png" in error


def test_an_unknown_account_is_refused_before_anything_is_fetched(maven_copy, cli, site):
    asked_before = len(site.requests)
    result = cli(maven_copy, "import", "signals", site.url("/news.rss"), "--account", "no-such-account")

    assert result.exit_code == 2 and "no account with id 'no-such-account'" in result.stderr
    assert len(site.requests) == asked_before
    assert _count(cli, maven_copy) == 0


def test_a_missing_file_is_named(maven_copy, cli, tmp_path):
    missing = tmp_path / "nope.rss"
    error = _fails(cli, maven_copy, missing)

    assert str(missing) in error and "file not found" in error


def test_a_page_that_is_not_utf8_and_declares_no_charset_is_refused(maven_copy, cli, tmp_path):
    latin = tmp_path / "latin.html"
    text = (FIXTURES / "article.html").read_text().replace('<meta charset="utf-8">', "")
    latin.write_bytes(text.replace("Procurement", "Procurement café").encode("latin-1"))

    error = _fails(cli, maven_copy, latin)

    assert "not UTF-8" in error and "0xe9" in error and "latin.html" in error


def test_a_feed_that_is_not_utf8_and_declares_no_encoding_is_refused(maven_copy, cli, tmp_path):
    latin = tmp_path / "latin.rss"
    text = (FIXTURES / "news.rss").read_text().replace(' encoding="UTF-8"', "")
    latin.write_bytes(text.replace("Dayton", "Dayton café").encode("latin-1"))
    declared = tmp_path / "declared.rss"
    declared.write_bytes(text.replace("<?xml version=\"1.0\"?>", '<?xml version="1.0" encoding="iso-8859-1"?>')
                         .replace("Dayton", "Dayton café").encode("latin-1"))

    error = _fails(cli, maven_copy, latin)
    report = _import(cli, maven_copy, declared)

    assert "not UTF-8" in error and "0xe9" in error and "latin.rss" in error
    assert any("Dayton café" in (s.body or "") for s in _signals(maven_copy).values()) and report["new"] == 3


def test_a_page_that_declares_its_charset_is_read_in_it(maven_copy, cli, tmp_path):
    latin = tmp_path / "latin.html"
    text = (FIXTURES / "article.html").read_text().replace('charset="utf-8"', 'charset="iso-8859-1"')
    latin.write_bytes(text.replace("Procurement lead", "Procurement lead (café)").encode("latin-1"))

    report = _import(cli, maven_copy, latin)

    assert "Procurement lead (café)" in _signals(maven_copy)[report["ids"][0]].body


def test_only_http_urls_are_fetched(maven_copy, cli, site):
    ftp = _fails(cli, maven_copy, "ftp://127.0.0.1/news.rss")
    redirected = _fails(cli, maven_copy, site.url("/to-ftp"))

    assert "only http(s) URLs" in ftp and "only http(s) URLs" in redirected


def test_an_answer_over_the_size_cap_is_refused(site):
    with pytest.raises(BadInput) as caught:
        read_signals(site.url("/news.rss"), timeout=1, max_bytes=500)

    assert "too large" in caught.value.one_line() and site.url("/news.rss") in caught.value.one_line()


def test_an_unknown_kind_is_refused(maven_copy, cli):
    error = _fails(cli, maven_copy, FIXTURES / "news.rss", "--kind", "rumour")

    assert "unknown kind 'rumour'" in error
