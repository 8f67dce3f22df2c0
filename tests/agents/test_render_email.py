"""The CLI shows an email draft as a person reads it: decoded headers, no MIME plumbing."""
from __future__ import annotations

import email.message
import email.policy

from sellerloop.agents.models import AgentRun, Item, Subject
from sellerloop.agents.render import to_markdown


def test_an_email_subject_with_a_dash_prints_as_a_dash_not_mime_encoded():
    message = email.message.EmailMessage(policy=email.policy.SMTP)
    message["From"] = "Rosalina Dieter <rosalina@maventech.example>"
    message["To"] = "Javier Ortiz <javier@northpoint.example>"
    message["Subject"] = "Next steps: Discovery call — Northpoint Media"
    message["X-Unsent"] = "1"
    message.set_content("Hi Javier,\n\nThanks for the call.\n")
    content = message.as_string()
    assert "=?utf-8?" in content  # as the .eml carries it
    run = AgentRun(use_case="follow-up", subject=Subject(type="opportunity", id="o-1"), autonomy_level="L3",
                   placement="draft", items=[Item(kind="draft", section="email", text="Follow-up email",
                                                  artifact="email", content=content)])
    shown = to_markdown(run)
    assert "Subject: Next steps: Discovery call — Northpoint Media" in shown
    assert "=?utf-8?" not in shown and "X-Unsent" not in shown and "Thanks for the call." in shown
