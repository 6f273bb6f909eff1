"""mask_secrets: every kind of secret it promises to hide, what it leaves alone, idempotence."""

from __future__ import annotations

import pytest

from ccplate_tui.masking import MASK, mask_argv, mask_secrets, secret_env_values

KEY = "0123456789abcdef0123456789abcdef"

# (text, the secret that must disappear, a piece of context that must stay)
CASES = [
    (f"SENTRY_DSN=https://{KEY}@o1.ingest.sentry.io/42", KEY, "o1.ingest.sentry.io/42"),
    ("curl -H 'Authorization: Bearer s3cr3t-b34rer' http://x", "s3cr3t-b34rer", "curl -H"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==", "Authorization:"),
    ('{"Authorization": "Token abcdef012345"}', "abcdef012345", '"Authorization"'),
    ("sending with bearer eyJhbGciOi.payload.sig now", "eyJhbGciOi.payload.sig", "now"),
    ("export API_TOKEN=tok_12345678; echo hi", "tok_12345678", "echo hi"),
    ("password=hunter2 user=bob", "hunter2", "user=bob"),
    ("db_password: 'pa ss word'", "pa ss word", "db_password"),
    ('{"password": "hunter2", "user": "bob"}', "hunter2", '"user": "bob"'),
    ("{'client_secret': 'xyzzy-42'}", "xyzzy-42", "client_secret"),
    ("https://api.example.com/v1?api_key=k-123456&page=2", "k-123456", "page=2"),
    ("//127.0.0.1:4873/:_authToken=abcdef-0123-4567", "abcdef-0123-4567", "127.0.0.1:4873/"),
    ("postgres://admin:Pa55w0rd@db.internal:5432/app", "Pa55w0rd", "db.internal:5432/app"),
    ("sentry verify --api-token sntrys_abc123 --org acme", "sntrys_abc123", "--org acme"),
    ("leaked ghp_abcdefghijklmnopqrstuvwxyz0123456789 here", "ghp_abcdefghij", "leaked"),
    ("npm_abcdefghijklmnopqrstuvwxyz0123456789AB in .npmrc", "npm_abcdefghij", ".npmrc"),
    ("X-Sentry-Auth: Sentry sentry_key=abc123, sentry_version=7", "abc123", "X-Sentry-Auth"),
    ("AWS key AKIAABCDEFGHIJKLMNOP used", "AKIAABCDEFGHIJKLMNOP", "used"),
]


@pytest.mark.parametrize(("text", "secret", "kept"), CASES)
def test_secret_is_masked_and_context_kept(text: str, secret: str, kept: str) -> None:
    masked = mask_secrets(text)
    assert secret not in masked
    assert kept in masked
    assert MASK in masked or "…" in masked


@pytest.mark.parametrize(("text", "secret", "kept"), CASES)
def test_masking_is_idempotent(text: str, secret: str, kept: str) -> None:
    once = mask_secrets(text)
    assert mask_secrets(once) == once


def test_text_without_secrets_is_unchanged() -> None:
    text = 'exit 0 in 1.2 s\nGET http://127.0.0.1:8787/api/health -> 200 {"ok": true}\n'
    assert mask_secrets(text) == text
    assert mask_secrets("") == ""


def test_extra_values_are_masked_everywhere_longest_first() -> None:
    text = "token is abcd1234 and abcd1234xyz; short 'ab' stays"
    masked = mask_secrets(text, extra=["abcd1234", "abcd1234xyz", "ab"])
    assert "abcd1234" not in masked
    assert "xyz" not in masked  # the longer value went first, not leaving a tail
    assert "'ab'" in masked  # too short to replace everywhere: it would shred the text
    assert mask_secrets(masked, extra=["abcd1234", "abcd1234xyz"]) == masked


def test_dsn_key_keeps_only_its_edges() -> None:
    masked = mask_secrets(f"dsn https://{KEY}@127.0.0.1:9/1")
    assert masked == "dsn https://01…ef@127.0.0.1:9/1"


def test_mask_argv_hides_the_value_after_a_secret_flag() -> None:
    argv = ("deploy", "--token", "v3rys3cret", "--password=hunter2", "-v", "https://u:pw@h/x")
    masked = mask_argv(argv)
    assert masked[:3] == ("deploy", "--token", MASK)
    assert masked[3] == f"--password={MASK}"
    assert masked[4] == "-v"
    assert masked[5] == "https://***:***@h/x"
    assert mask_argv(masked) == masked


def test_mask_argv_does_not_eat_the_next_flag() -> None:
    assert mask_argv(("--token", "--verbose")) == ("--token", "--verbose")


def test_secret_env_values_pick_names_that_say_secret() -> None:
    env = [
        ("API_TOKEN", "t0k3n-value"),
        ("SENTRY_DSN", "https://k@h/1"),
        ("DB_PASSWORD", "pw-value"),
        ("STRIPE_SECRET_KEY", "sk-value"),
        ("NODE_ENV", "production"),
        ("EMPTY_TOKEN", ""),
    ]
    assert secret_env_values(env) == ("t0k3n-value", "https://k@h/1", "pw-value", "sk-value")
