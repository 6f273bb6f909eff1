"""DSN parsing, envelope URLs as sentry-sdk builds them, and masking of the key."""

from __future__ import annotations

import pytest

from ccplate_tui.sentry.dsn import DsnError, mask_dsns, parse_dsn

KEY = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("dsn", "envelope"),
    [
        (
            f"https://{KEY}@o1.ingest.de.sentry.io/4509",
            "https://o1.ingest.de.sentry.io/api/4509/envelope/",
        ),
        (
            f"https://{KEY}@sentry.example.com/sentry/7",
            "https://sentry.example.com/sentry/api/7/envelope/",
        ),
        (f"http://{KEY}@127.0.0.1:18765/42", "http://127.0.0.1:18765/api/42/envelope/"),
        (f"http://{KEY}:legacysecret@[::1]:9000/3/", "http://[::1]:9000/api/3/envelope/"),
    ],
)
def test_envelope_urls_follow_the_sdk_rule(dsn: str, envelope: str) -> None:
    assert parse_dsn(dsn).envelope_url == envelope


def test_the_key_never_shows_whole() -> None:
    dsn = parse_dsn(f"https://{KEY}:s3cret@sentry.example.com/sentry/7")
    assert dsn.public_key == KEY and dsn.secret_key == "s3cret"
    shown = dsn.masked()
    assert shown == "https://01…ef:***@sentry.example.com/sentry/7"
    assert KEY not in shown and "s3cret" not in shown
    line = f"sending to https://{KEY}@o1.ingest.sentry.io/4509 failed; retry http://short@h/1"
    masked = mask_dsns(line)
    assert KEY not in masked and "01…ef@o1.ingest.sentry.io/4509" in masked
    assert "http://***@h/1" in masked
    assert mask_dsns(masked) == masked, "masking twice changes nothing"
    assert mask_dsns("e.g. https://<key>@<host>/42") == "e.g. https://<key>@<host>/42"


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (f"ftp://{KEY}@host/1", "must start with https://"),
        ("https://sentry.io/42", "has no key"),
        (f"https://{KEY}@sentry.io/", "numeric project id"),
        (f"https://{KEY}@sentry.io/project", "numeric project id"),
        (f"https://{KEY}@sentry.io:99999/1", "invalid port"),
        (f"https://{KEY}@sentry.io/1?x=1", "query or fragment"),
    ],
)
def test_a_malformed_dsn_says_what_is_wrong_without_the_key(dsn: str, message: str) -> None:
    with pytest.raises(DsnError, match=message) as caught:
        parse_dsn(dsn)
    assert KEY not in str(caught.value)
