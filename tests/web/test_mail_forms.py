"""The anonymous "send me a mail" pages: forgot password and resend confirmation queue the mail
for an existing account, answer the same for an unknown address, and keep the form on bad input."""

from __future__ import annotations

import psycopg

from tests.conftest import Accounts, TestDatabase
from tests.web.conftest import Browser
from tynebase.db.engine import libpq_url


def _mails(database: TestDatabase, email: str, subject: str) -> int:
    with psycopg.connect(libpq_url(database.urls.owner)) as conn:
        row = conn.execute(
            "SELECT count(*) FROM mail_outbox WHERE to_address = %s AND subject LIKE %s",
            (email.lower(), f"%{subject}%"),
        ).fetchone()
    assert row is not None
    return int(row[0])


def test_forgot_password_page(browser: Browser, accounts: Accounts, database: TestDatabase) -> None:
    person = accounts.signup()
    before = _mails(database, person.email, "eset")
    sent = browser.post_form("/forgot", {"email": person.email})
    assert sent.status_code == 200, sent.text
    assert "Check your mail" in sent.text
    assert _mails(database, person.email, "eset") == before + 1
    unknown = browser.post_form("/forgot", {"email": "nobody-here@example.com"})
    assert unknown.status_code == 200
    assert "Check your mail" in unknown.text  # nothing to learn about who has an account
    bad = browser.post_form("/forgot", {"email": "not an address"})
    assert bad.status_code == 400
    assert "Reset your password" in bad.text  # the form again, with the error


def test_resend_confirmation_page(
    browser: Browser, accounts: Accounts, database: TestDatabase
) -> None:
    person = accounts.signup(confirm=False, login=False)
    before = _mails(database, person.email, "onfirm")
    sent = browser.post_form("/confirm/resend", {"email": person.email})
    assert sent.status_code == 200, sent.text
    assert "Check your mail" in sent.text
    assert _mails(database, person.email, "onfirm") == before + 1
