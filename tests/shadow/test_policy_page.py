"""The policy page shows each level's shadow state and evidence; admins and RevOps turn a shadow on and off there,
nobody else can."""
from __future__ import annotations

import re
from html import unescape

from sellerloop.auth.service import set_password
from sellerloop.policy.service import load_policy
from sellerloop.shadow.replay import run_shadow
from sellerloop.store.db import session_scope
from tests.shadow.conftest import DAY, team_policy
from tests.web.conftest import serve
from tests.web.test_workspace_pages import PASSWORD, _csrf, signed_in


def _row(html: str, use_case: str) -> str:
    return unescape(re.search(rf'<tr id="level-{use_case}-default".*?</tr>', html, re.S).group(0))


def test_the_policy_page_shows_shadow_evidence_and_lets_only_revops_switch_it(book, tmp_path, monkeypatch):
    path = team_policy(tmp_path, monkeypatch, replace={"  hygiene: L3": "  hygiene: {default: L3, shadow: true}"})
    run_shadow(engine=book, use_case="hygiene", as_of=DAY, window_days=28)
    with session_scope(book) as s:
        for user in ("rita", "sam"):
            set_password(session=s, user_id=user, password=PASSWORD)
    with serve(book, sign_in=True) as live:
        with signed_in(live, "sam") as client:
            html = client.get("/policy").text
            hygiene = _row(html, "hygiene")
            assert 'class="badge shadow-state">on<' in hygiene and "at L4: " in hygiene and " agreed" in hygiene
            assert 'action="/policy/shadow"' not in html
            response = client.post("/policy/shadow", data={"use_case": "next-action", "on": "true",
                                                           "csrf_token": _csrf(html)})
            assert response.status_code == 403
        with signed_in(live, "rita") as client:
            html = client.get("/policy").text
            assert "Stop the shadow" in _row(html, "hygiene") and "Run L3 in shadow" in _row(html, "next-action")
            response = client.post("/policy/shadow", data={"use_case": "next-action", "on": "true",
                                                           "csrf_token": _csrf(html)}, follow_redirects=True)
            assert response.status_code == 200
            assert "next-action runs one level up in shadow" in response.text
            assert 'class="badge shadow-state">on<' in _row(response.text, "next-action")
    assert load_policy(path).levels["next-action"].shadow == ("default",)
