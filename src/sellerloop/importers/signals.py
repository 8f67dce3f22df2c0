"""Signals in: RSS/Atom news and job feeds (feedparser) and web pages (httpx + trafilatura), from a file or a URL.

`sellerloop import signals PATH_OR_URL --account ID [--kind news|job_posting|web_page]`

Like the other importers, the whole input is fetched, parsed and checked before anything is written: a bad
feed, a refused fetch or an unknown account stores nothing. Every problem is one line naming the file or URL.

What the input is, by its content first (a server's content type and a file's extension are often wrong):
- the first element is `<rss>`, `<feed>` or `<rdf:RDF>`, or feedparser recognises a feed version -> a feed;
- the first element is `<html>` (or the content type is HTML) -> a web page;
- anything else that feedparser does not read as a feed is treated as a page, and fails if no main text is found.

A feed gives one signal per entry: title, link (made absolute against the feed) as url, published (else
updated) date as published_at, content (else summary) as body with the HTML stripped, and the feed's title as
source_name. Its kind is `news`, unless `--kind` says otherwise or the feed looks like a jobs feed:
its title, subtitle or link, or the URL it was fetched from, contains "job(s)", "career(s)", "hiring",
"vacancy/vacancies", "open position(s)", "opening(s)" or "recruiting" (as a word, in any case), or it declares an
XML namespace prefix or URI containing "job". Entries are not looked at: a news item about "400 new jobs" must
not turn a newsroom into a jobs feed.

A page gives one signal: title and date from trafilatura's metadata (its title falls back to <title>),
body = trafilatura's main text (navigation, header and footer left out), source_name = the site name, else the
host. A page read from a file takes its canonical/og:url as url when it has an http(s) one, else the file's
file:// URI (then it is cited as `signal:ID`).

Ids are stable_id("signal", account, url): importing the same feed or page onto the same account again updates
those signals in place instead of adding copies; the report says how many were new and how many updated.

Fetching a URL (http and https only) behaves as a polite crawler:
- robots.txt of each origin is read first with the same client and User-Agent; a disallowed URL is refused
  (BadInput, exit 2). A robots.txt answering 4xx (missing) allows everything; one answering 5xx is a temporary
  failure (RFC 9309: assume nothing is allowed until it can be read).
- User-Agent `sellerloop/<version> (+https://github.com/sellerloop)`.
- `timeout` seconds to connect and for each read (default 10), and the whole download within 3 x timeout.
- At most `max_bytes` (default 5 MB) of body; larger answers are refused without reading them all.
- Up to 5 redirects, each checked again for scheme and robots.txt; the signal's url is where the text came from.
Timeouts, refused connections, 5xx and 429 raise FetchFailed (exit 1, permanent=False: retrying may help);
other 4xx, robots.txt refusals and content that is neither a feed nor a page with text are BadInput (exit 2).
"""
from __future__ import annotations

import datetime as dt
import html
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import feedparser
import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from sellerloop import __version__
from sellerloop.errors import BadInput, NotFound, SellerloopError
from sellerloop.importers.csvfiles import read_bytes
from sellerloop.records.ids import stable_id
from sellerloop.records.models import Account, Signal, SignalKind
from sellerloop.store.upsert import upsert

KINDS = tuple(k.value for k in SignalKind)
USER_AGENT = f"sellerloop/{__version__} (+https://github.com/sellerloop)"
DEFAULT_TIMEOUT = 10.0
MAX_BYTES = 5_000_000
MAX_REDIRECTS = 5
MAX_ROBOTS_BYTES = 500_000  # RFC 9309 lets a crawler stop reading robots.txt after 500 KiB
MIN_PAGE_WORDS = 10  # fewer words of main text is a menu or a cookie banner, not something to cite
_ACCEPT = ("application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
           "text/html;q=0.9, */*;q=0.5")

# Column widths in records/models.py: titles and names are clipped, a url never is (it must stay a working link).
_TITLE_MAX, _URL_MAX, _SOURCE_NAME_MAX = 500, 1000, 200

_FEED_ROOTS = {"rss", "feed", "rdf:rdf", "rdf"}
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_NOT_TEXT_TYPES = ("image/", "audio/", "video/", "font/", "application/pdf", "application/zip",
                   "application/gzip", "application/x-gzip")
_JOBS_WORDS = re.compile(r"(?<![a-z])(jobs?|careers?|hiring|vacanc(?:y|ies)|open[ -]positions?|openings?|"
                         r"recruit(?:ing|ment)?)(?![a-z])", re.IGNORECASE)
_URL_LIKE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


class FetchFailed(SellerloopError):
    """A fetch failed in a way that may pass by itself: a timeout, a refused connection, a 5xx or a 429.
    `permanent` is False, so a caller (or a scheduled job) knows that trying again later can help."""

    exit_code = 1
    http_status = 502

    def __init__(self, message: str, *, url: str, permanent: bool = False):
        super().__init__(f"{url}: {message}")
        self.url = url
        self.permanent = permanent


@dataclass
class Document:
    """What was read: the bytes and where they came from (`url` is None for a file)."""

    location: str  # the file path or URL as the user gave it: every error names it
    raw: bytes
    url: str | None = None  # the URL the bytes came from, after redirects
    content_type: str | None = None  # the media type, lowercased, without parameters
    charset: str | None = None


@dataclass
class SignalDraft:
    """One signal as read, before it gets an account and an id."""

    kind: str
    title: str
    url: str
    published_at: dt.datetime | None
    body: str | None
    source_name: str | None


@dataclass
class SignalImport:
    source: str
    account_id: str
    signals: list[dict] = field(default_factory=list)  # id, kind, title, url, published_at, status

    @property
    def new(self) -> int:
        return sum(1 for s in self.signals if s["status"] == "new")

    @property
    def updated(self) -> int:
        return sum(1 for s in self.signals if s["status"] == "updated")

    def as_dict(self) -> dict:
        return {"source": self.source, "account_id": self.account_id, "new": self.new, "updated": self.updated,
                "ids": [s["id"] for s in self.signals], "signals": self.signals}


def import_signals(*, session: Session, source: str, account_id: str, kind: str | None = None,
                   timeout: float = DEFAULT_TIMEOUT, max_bytes: int = MAX_BYTES,
                   client: httpx.Client | None = None) -> SignalImport:
    """Read a feed or page from `source` (a file path or an http(s) URL) and upsert its signals onto the account.

    Everything is read and checked before the rows are written in the session's transaction; the caller
    commits (or rolls back)."""
    source = str(source)
    kind = _check_kind(kind, source)
    if session.get(Account, account_id) is None:
        raise NotFound(f"no account with id {account_id!r}", file=source)
    drafts = read_signals(source, kind=kind, timeout=timeout, max_bytes=max_bytes, client=client)

    by_id: dict[str, SignalDraft] = {}
    for draft in drafts:  # the same link twice in a feed is one signal; feeds list the newest first
        by_id.setdefault(stable_id("signal", account_id, draft.url), draft)
    existing = set(session.scalars(select(Signal.id).where(Signal.id.in_(list(by_id)))))
    rows = [{"id": signal_id, "account_id": account_id, "kind": d.kind, "title": d.title, "url": d.url,
             "published_at": d.published_at, "body": d.body, "source_name": d.source_name, "synthetic": False}
            for signal_id, d in by_id.items()]
    upsert(session, Signal, rows)
    report = SignalImport(source=source, account_id=account_id)
    report.signals = [{"id": r["id"], "kind": r["kind"], "title": r["title"], "url": r["url"],
                       "published_at": r["published_at"].isoformat() if r["published_at"] else None,
                       "status": "updated" if r["id"] in existing else "new"} for r in rows]
    return report


def read_signals(source: str, *, kind: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                 max_bytes: int = MAX_BYTES, client: httpx.Client | None = None) -> list[SignalDraft]:
    """The signals in a file or at a URL, checked, without touching the store."""
    source = str(source)
    kind = _check_kind(kind, source)
    if _URL_LIKE.match(source):
        document = fetch(source, timeout=timeout, max_bytes=max_bytes, client=client)
    else:
        document = _read_file(Path(source))
    return parse_document(document, kind=kind)


# ------------------------------------------------------------------------------------------------- reading


def _check_kind(kind: str | None, source: str) -> str | None:
    if kind is None:
        return None
    if kind not in KINDS:
        raise BadInput(f"unknown kind {kind!r} (expected one of {', '.join(KINDS)})", file=source)
    return kind


def _read_file(path: Path) -> Document:
    return Document(location=str(path), raw=read_bytes(path))


def fetch(url: str, *, timeout: float = DEFAULT_TIMEOUT, max_bytes: int = MAX_BYTES,
          client: httpx.Client | None = None) -> Document:
    """GET `url` as a polite crawler (see the module notes): robots.txt, User-Agent, timeouts, a size cap."""
    _check_url(url, url)
    own_client = client is None
    if client is None:
        client = httpx.Client(headers={"User-Agent": USER_AGENT, "Accept": _ACCEPT},
                              timeout=httpx.Timeout(timeout), follow_redirects=False)
    deadline = time.monotonic() + 3 * timeout
    robots: dict[str, RobotFileParser | None] = {}
    try:
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            _check_robots(client, current, origin=url, cache=robots, timeout=timeout)
            with _translated(url, timeout), client.stream("GET", current) as response:
                if response.is_redirect and "location" in response.headers:
                    following = urljoin(str(response.url), response.headers["location"])
                    _check_url(following, url)
                    current = following
                    continue
                _check_status(response, url)
                raw = _read_capped(response, url, max_bytes=max_bytes, deadline=deadline, timeout=timeout)
                media_type, charset = _content_type(response.headers.get("content-type"))
                return Document(location=url, raw=raw, url=str(response.url), content_type=media_type,
                                charset=charset)
        raise BadInput(f"more than {MAX_REDIRECTS} redirects", file=url)
    finally:
        if own_client:
            client.close()


def _check_url(url: str, origin: str) -> None:
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        what = "URL" if url == origin else f"redirect to {url}"
        raise BadInput(f"only http(s) URLs can be fetched, not this {what}", file=origin)
    if not parts.hostname:
        raise BadInput(f"no host in the URL {url!r}", file=origin)


@contextmanager
def _translated(url: str, timeout: float) -> Iterator[None]:
    """httpx's exceptions as one-line errors that name the URL and say whether trying again can help."""
    try:
        yield
    except httpx.TimeoutException:
        raise FetchFailed(f"timed out after {timeout:g} s waiting for the server (try again later)",
                          url=url) from None
    except httpx.ConnectError as e:
        raise FetchFailed(f"could not connect ({_reason(e)}; try again later)", url=url) from None
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as e:
        raise BadInput(f"not a URL that can be fetched ({_reason(e)})", file=url) from None
    except httpx.TransportError as e:
        raise FetchFailed(f"the connection failed ({_reason(e)}; try again later)", url=url) from None
    except httpx.HTTPError as e:
        raise FetchFailed(f"the fetch failed ({_reason(e)})", url=url) from None


def _reason(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return re.sub(r"^\[Errno -?\d+\]\s*", "", text)


def _check_status(response: httpx.Response, url: str) -> None:
    status = response.status_code
    if status < 400:
        return
    what = f"HTTP {status} {response.reason_phrase}".strip()
    if status >= 500 or status == 429:
        raise FetchFailed(f"{what} (the server failed or is busy; try again later)", url=url)
    raise BadInput(what, file=url)


def _read_capped(response: httpx.Response, url: str, *, max_bytes: int, deadline: float,
                 timeout: float) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BadInput(f"too large: {_size(int(declared))}, the limit is {_size(max_bytes)}", file=url)
    chunks, total = [], 0
    with _translated(url, timeout):
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > max_bytes:
                raise BadInput(f"too large: more than the {_size(max_bytes)} limit", file=url)
            if time.monotonic() > deadline:
                raise FetchFailed(f"the download took longer than {3 * timeout:g} s (try again later)", url=url)
            chunks.append(chunk)
    return b"".join(chunks)


def _size(n: int) -> str:
    return f"{n / 1_000_000:g} MB" if n >= 1_000_000 else f"{n:,} bytes"


def _content_type(header: str | None) -> tuple[str | None, str | None]:
    if not header:
        return None, None
    media_type, _, params = header.partition(";")
    match = re.search(r"charset\s*=\s*[\"']?([\w.:-]+)", params, re.IGNORECASE)
    return media_type.strip().lower() or None, match.group(1) if match else None


def _check_robots(client: httpx.Client, url: str, *, origin: str, cache: dict, timeout: float) -> None:
    parts = urlsplit(url)
    site = f"{parts.scheme.lower()}://{parts.netloc}"
    if site not in cache:
        cache[site] = _read_robots(client, f"{site}/robots.txt", origin=origin, timeout=timeout)
    rules = cache[site]
    if rules is not None and not rules.can_fetch(USER_AGENT, url):
        where = "" if url == origin else f" (redirected to {url})"
        raise BadInput(f"{site}/robots.txt does not allow sellerloop to fetch this URL{where}; nothing imported",
                       file=origin)


def _read_robots(client: httpx.Client, robots_url: str, *, origin: str, timeout: float) -> RobotFileParser | None:
    """The site's rules, or None when it has none (robots.txt answers 4xx: everything is allowed)."""
    with _translated(origin, timeout), client.stream("GET", robots_url, follow_redirects=True) as response:
        if 400 <= response.status_code < 500:
            return None
        if response.status_code >= 500:
            raise FetchFailed(f"{robots_url} answered HTTP {response.status_code}, so the site's crawling "
                              f"rules are unknown (try again later)", url=origin)
        raw = b""
        for chunk in response.iter_bytes():
            raw += chunk
            if len(raw) >= MAX_ROBOTS_BYTES:
                break
    rules = RobotFileParser(robots_url)
    text = raw[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
    rules.parse(text.splitlines())
    return rules


# ------------------------------------------------------------------------------------------------- parsing


def parse_document(document: Document, *, kind: str | None = None) -> list[SignalDraft]:
    """Feed or page, decided by the content (see the module notes), then its signals."""
    media_type = document.content_type or ""
    if media_type.startswith(_NOT_TEXT_TYPES):
        raise BadInput(f"is {media_type}, not a feed or a web page", file=document.location)
    root = _root_element(document.raw)
    if root == "html" or (root not in _FEED_ROOTS and media_type in _HTML_TYPES):
        return [_page_signal(document, kind=kind)]
    headers = {"content-type": _header_content_type(document)}
    if document.url:
        headers["content-location"] = document.url  # the base for relative links
    parsed = feedparser.parse(document.raw, response_headers=headers, sanitize_html=True,
                              resolve_relative_uris=True)
    if root in _FEED_ROOTS or (parsed.get("version") and parsed.entries):
        _check_feed_encoding(document)
        return _feed_signals(parsed, document, kind=kind)
    return [_page_signal(document, kind=kind)]


def _header_content_type(document: Document) -> str:
    media_type = document.content_type or "application/xml"
    return f"{media_type}; charset={document.charset}" if document.charset else media_type


_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["']([\w.:-]+)""")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


def _check_feed_encoding(document: Document) -> None:
    """A feed that declares no encoding (no charset, no XML declaration, no BOM) must be UTF-8, as XML says.
    feedparser would otherwise guess windows-1252 and quietly put wrong characters into the text."""
    raw = document.raw
    if document.charset or raw.startswith(_BOMS) or _XML_ENCODING.match(raw[:512]):
        return
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadInput(f"not UTF-8, and no encoding declared (byte 0x{raw[e.start]:02x} at offset {e.start})",
                       file=document.location) from None


_PROLOGUE = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>)", re.DOTALL | re.IGNORECASE)
_FIRST_TAG = re.compile(rb"\s*<([A-Za-z_][\w:.-]*)")


def _root_element(raw: bytes) -> str | None:
    """The name of the first element ("rss", "feed", "html", ...), lowercased; None when there is none to see."""
    head = raw[:8192].removeprefix(b"\xef\xbb\xbf")
    position = 0
    while True:
        match = _PROLOGUE.match(head, position)
        if not match:
            break
        declaration = match.group(0).lstrip()
        if declaration[:9].upper() == b"<!DOCTYPE" and b"html" in declaration.lower():
            return "html"
        position = match.end()
    match = _FIRST_TAG.match(head, position)
    return match.group(1).decode("ascii", "replace").lower() if match else None


# ----------------------------------------------------------------------------------------------------- feeds


def _feed_signals(parsed, document: Document, *, kind: str | None) -> list[SignalDraft]:
    location = document.location
    problem = _bozo_problem(parsed)
    if not parsed.entries:
        if problem:
            raise BadInput(f"malformed feed with no entries: {problem}", file=location)
        return []  # a well-formed feed with nothing in it: nothing to import, and nothing wrong
    feed = parsed.feed
    feed_title = _one_line(_strip_html(feed.get("title", ""))) if feed.get("title") else ""
    base = document.url or feed.get("link") or ""
    kind = kind or (SignalKind.job_posting.value if looks_like_jobs_feed(parsed, document.url)
                    else SignalKind.news.value)
    source_name = feed_title or urlsplit(base).hostname or Path(location).name
    drafts = []
    for number, entry in enumerate(parsed.entries, start=1):
        url = _entry_url(entry, base)
        if url is None:
            detail = f" ({problem})" if problem else ""
            raise BadInput(f"entry {number} ({_clip(entry.get('title') or 'untitled')!r}) has no http(s) link"
                           f"{detail}", file=location)
        if len(url) > _URL_MAX:
            raise BadInput(f"entry {number}: link longer than {_URL_MAX} characters", file=location)
        body = _entry_body(entry)
        title = _one_line(_strip_html(entry.get("title") or "")) or _clip(body or "") or url
        drafts.append(SignalDraft(kind=kind, title=title[:_TITLE_MAX], url=url, published_at=_entry_date(entry),
                                  body=body, source_name=source_name[:_SOURCE_NAME_MAX]))
    return drafts


def _bozo_problem(parsed) -> str | None:
    """What made feedparser unhappy, in one line with the line number; None for a clean feed, and for an
    encoding it merely had to guess (the entries read fine)."""
    if not parsed.get("bozo"):
        return None
    error = parsed.get("bozo_exception")
    if isinstance(error, (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)):
        return None
    message = getattr(error, "getMessage", lambda: str(error))()
    line = getattr(error, "getLineNumber", lambda: None)()
    return f"{message} at line {line}" if line else " ".join(str(message).split())


def looks_like_jobs_feed(parsed, fetched_from: str | None = None) -> bool:
    """True when the feed itself says it lists jobs (the rule is in the module notes)."""
    feed = parsed.feed
    words = [feed.get("title", ""), feed.get("subtitle", ""), feed.get("link", ""), fetched_from or ""]
    if any(_JOBS_WORDS.search(_words_of(text)) for text in words if text):
        return True
    return any("job" in f"{prefix} {uri}".lower() for prefix, uri in (parsed.get("namespaces") or {}).items())


def _words_of(text: str) -> str:
    """URLs and titles alike as words: "https://careers.x.com/jobs_feed" -> "https careers x com jobs feed"."""
    return re.sub(r"[^A-Za-z]+", " ", text)


def _entry_url(entry, base: str) -> str | None:
    candidates = [entry.get("link")]
    candidates += [link.get("href") for link in entry.get("links", []) if link.get("rel") == "alternate"]
    candidates.append(entry.get("id"))  # an Atom id or RSS guid that is a permalink
    for candidate in candidates:
        if not candidate:
            continue
        url = urljoin(base, candidate.strip()) if base else candidate.strip()
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname:
            return url
    return None


def _entry_body(entry) -> str | None:
    contents = [c for c in entry.get("content", []) if c.get("value")]
    if contents:
        chosen = max(contents, key=lambda c: len(c["value"]))
        value, media_type = chosen["value"], chosen.get("type", "text/html")
    elif entry.get("summary"):
        value = entry["summary"]
        media_type = (entry.get("summary_detail") or {}).get("type", "text/html")
    else:
        return None
    text = _strip_html(value) if "html" in media_type else _paragraphs(value)
    return text or None


def _entry_date(entry) -> dt.datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return dt.datetime(*value[:6])  # feedparser gives UTC; stored naive, like the other timestamps
    return None


# ----------------------------------------------------------------------------------------------------- pages


def _page_signal(document: Document, *, kind: str | None) -> SignalDraft:
    import trafilatura  # slow to import (~1 s): only when a page is read

    text = _decode_page(document)
    extracted = trafilatura.bare_extraction(
        text, url=document.url, with_metadata=True, include_comments=False, include_tables=True,
        # no date guessed from a copyright line or the URL: only one the page states
        date_extraction_params={"extensive_search": False, "original_date": True})
    body = _paragraphs(extracted.text) if extracted is not None and extracted.text else ""
    if len(body.split()) < MIN_PAGE_WORDS:
        raise BadInput("not a feed, and no main text found on the page (nothing to import)",
                       file=document.location)
    url = document.url or _page_url(extracted, document.location)
    if len(url) > _URL_MAX:
        raise BadInput(f"URL longer than {_URL_MAX} characters", file=document.location)
    title = _one_line(extracted.title or "") or _html_title(text) or url
    host = urlsplit(url).hostname if url.startswith("http") else None
    sitename = (extracted.sitename or "").strip()
    source_name = sitename if sitename and sitename != urlsplit(url).netloc else host or Path(document.location).name
    return SignalDraft(kind=kind or SignalKind.web_page.value, title=title[:_TITLE_MAX], url=url,
                       published_at=_page_date(extracted.date), body=body,
                       source_name=(source_name or "")[:_SOURCE_NAME_MAX] or None)


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


def _decode_page(document: Document) -> str:
    """The page as text: in the charset the server or the page declares, else UTF-8 (strictly: guessing an
    encoding would put wrong characters into quotes that people and the verifier rely on)."""
    raw = document.raw
    match = _META_CHARSET.search(raw[:4096])
    charset = document.charset or (match.group(1).decode("ascii") if match else None)
    if raw.startswith(b"\xef\xbb\xbf"):
        charset = "utf-8-sig"
    try:
        return raw.decode(charset or "utf-8")
    except LookupError:
        raise BadInput(f"unknown character encoding {charset!r}", file=document.location) from None
    except UnicodeDecodeError as e:
        declared = f"not valid {charset}" if charset else "not UTF-8, and no charset declared"
        raise BadInput(f"{declared} (byte 0x{raw[e.start]:02x} at offset {e.start})",
                       file=document.location) from None


def _page_url(extracted, location: str) -> str:
    url = (extracted.url or "").strip() if extracted is not None else ""
    if urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname:
        return url
    return Path(location).resolve().as_uri()


def _page_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value[:10])
    except ValueError:
        return None


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.DOTALL | re.IGNORECASE)


def _html_title(text: str) -> str:
    match = _TITLE.search(text)
    return _one_line(html.unescape(match.group(1))) if match else ""


# ------------------------------------------------------------------------------------------------- text


_BLOCKS = {"p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
           "blockquote", "pre", "section", "article", "header", "footer", "hr", "dd", "dt", "figcaption"}
_SKIPPED = {"script", "style", "noscript", "template"}


class _TextOf(HTMLParser):
    """An HTML fragment's text: a line break at each block element, script and style left out."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in _SKIPPED:
            self.skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in _SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def _strip_html(fragment: str) -> str:
    parser = _TextOf()
    parser.feed(fragment)
    parser.close()
    return _paragraphs("".join(parser.parts))


def _paragraphs(text: str) -> str:
    """Whitespace collapsed within lines, empty lines dropped."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _clip(text: str, limit: int = 80) -> str:
    text = _one_line(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
