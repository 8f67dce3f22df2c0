"""Sessions end on the server, sign-in is throttled, bodies are capped, and API-token bookkeeping stays out of the
request's way (issue 14). Each of these failed before its fix."""
from __future__ import annotations

import datetime as dt
import re

import httpx

from sellerloop.auth.models import ApiToken
from sellerloop.auth.service import SignInThrottle, TooManySignIns, set_password
from sellerloop.store.db import create_store_engine, session_scope
from tests.auth.test_sign_in import PASSWORD, signed_in, site  # noqa: F401  (the site fixture)


def _cookie(client: httpx.Client) -> str:
    return client.cookies["sellerloop_session"]


def _with_cookie(site, cookie: str) -> httpx.Response:
    with httpx.Client(base_url=site.base_url, cookies={"sellerloop_session": cookie}) as other:
        return other.get("/opportunities")


def _csrf(client: httpx.Client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/opportunities").text).group(1)


def test_a_cookie_copied_before_sign_out_no_longer_signs_anyone_in(site):
    with signed_in(site, site.ids["seller"]) as client:
        copied = _cookie(client)
        assert _with_cookie(site, copied).status_code == 200
        client.post("/signout", data={"csrf_token": _csrf(client)})
    assert _with_cookie(site, copied).status_code == 303  # back to sign-in


def test_a_password_change_ends_every_session_of_that_person(site, maven_copy):
    with signed_in(site, site.ids["seller"]) as client:
        copied = _cookie(client)
    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        set_password(session=s, user_id=site.ids["seller"], password="another long password")
    engine.dispose()
    assert _with_cookie(site, copied).status_code == 303


def test_an_admin_can_sign_someone_out_of_every_browser(site, cli, maven_copy):
    with signed_in(site, site.ids["seller"]) as client:
        copied = _cookie(client)
    done = cli(maven_copy, "users", "sign-out", site.ids["seller"])
    assert done.exit_code == 0 and "1 browser session" in done.stdout
    assert _with_cookie(site, copied).status_code == 303
    unknown = cli(maven_copy, "users", "sign-out", "nobody-here")
    assert unknown.exit_code == 2 and unknown.stderr.count("\n") == 1


def test_wrong_passwords_are_throttled_per_account_with_a_429_that_says_when_to_retry(site):
    with httpx.Client(base_url=site.base_url) as client:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text).group(1)
        answers = [client.post("/signin", data={"login": site.ids["seller"], "password": "wrong guess",
                                                "csrf_token": csrf}) for _ in range(7)]
        right = client.post("/signin", data={"login": site.ids["seller"], "password": PASSWORD, "csrf_token": csrf})
    assert [a.status_code for a in answers] == [401] * 5 + [429] * 2
    assert int(answers[-1].headers["retry-after"]) > 0 and "too many wrong passwords" in answers[-1].text
    assert right.status_code == 429  # even the right password waits: the guesser cannot tell


def test_the_throttle_forgets_failures_after_its_window_and_counts_addresses_apart():
    now = [0.0]
    throttle = SignInThrottle(per_account=2, per_address=3, window=60, clock=lambda: now[0])
    for login in ("a", "b", "c"):
        throttle.failed(login=login, address="10.0.0.1")
    try:
        throttle.check(login="d", address="10.0.0.1")
    except TooManySignIns as e:
        assert "address" in e.one_line()
    else:
        raise AssertionError("the address was over its limit")
    throttle.check(login="d", address="10.0.0.2")
    now[0] = 61.0
    throttle.check(login="a", address="10.0.0.1")


def test_a_body_over_the_cap_is_refused_before_it_is_parsed(site):
    with httpx.Client(base_url=site.base_url, headers={"Authorization": f"Bearer {site.ids['token']}"}) as client:
        big = client.post("/api/outcomes/events", content=b"[" + b"1," * 1_000_000 + b"1]",
                          headers={"Content-Type": "application/json"})

        def chunks():
            for _ in range(30):
                yield b" " * 100_000

        streamed = client.post("/api/outcomes/events", content=chunks(), headers={"Content-Type": "application/json"})
    assert big.status_code == 413 and big.text.strip(), big.text
    assert streamed.status_code == 413, (streamed.text, big.text)


def test_an_api_token_records_its_use_at_most_once_a_minute(site, maven_copy, time_machine):
    engine = create_store_engine(maven_copy.url)
    token_id = site.ids["token"].split("_")[1]
    with httpx.Client(base_url=site.base_url, headers={"Authorization": f"Bearer {site.ids['token']}"}) as client:
        assert client.get("/api/approvals").status_code == 200
        with session_scope(engine) as s:
            first = s.get(ApiToken, token_id).last_used_at
        with session_scope(engine) as s:  # pretend it was written just now, then use it again at once
            s.get(ApiToken, token_id).last_used_at = first = dt.datetime.now(dt.UTC).replace(
                tzinfo=None, microsecond=0) + dt.timedelta(seconds=30)
        assert client.get("/api/approvals").status_code == 200
    with session_scope(engine) as s:
        assert s.get(ApiToken, token_id).last_used_at == first
    engine.dispose()


def test_fifty_scripts_with_new_tokens_at_once_all_get_answers(site, maven_copy):
    """Each first use of a token is written down; done on a second connection while the request held its first,
    it starved the connection pool: 50 clients at once got 30 s time-outs instead of answers."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from sellerloop.auth.service import create_token

    engine = create_store_engine(maven_copy.url)
    with session_scope(engine) as s:
        tokens = [create_token(session=s, user_id=site.ids["seller"], name=f"script {i}") for i in range(50)]
    together = threading.Barrier(len(tokens))  # threads, not asyncio: browser tests may hold this thread's loop

    def ask(token: str) -> int:
        with httpx.Client(base_url=site.base_url, timeout=20, headers={"Authorization": f"Bearer {token}"}) as c:
            together.wait()
            return c.get("/api/approvals").status_code

    with ThreadPoolExecutor(len(tokens)) as pool:
        assert list(pool.map(ask, tokens)) == [200] * 50
    # Written once the answer is on its way (after the request's session): wait for it, at most a few seconds.
    token_ids = [t.split("_")[1] for t in tokens]
    deadline = time.monotonic() + 10
    while True:
        with session_scope(engine) as s:
            unused = [i for i in token_ids if s.get(ApiToken, i).last_used_at is None]
        if not unused or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    engine.dispose()
    assert unused == []
