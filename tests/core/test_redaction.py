"""Redaction of every form a secret travels in, of secrets of any length, the forgetting of renewed
tokens, and private log and crash files."""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import stat
from urllib.parse import quote, quote_plus

import pytest

from ibmon import secrets
from ibmon.logs import setup_logging, write_crash_log
from ibmon.secrets import MASK, Secret, forget, redact, remember, remember_basic, remembered, replaced
from ibmon.testing import secrets_kept_apart


@pytest.fixture(autouse=True)
def _made_up_secrets_stay_here():
    """The secrets made up here ("Q", "ab"...) would otherwise go on being masked in later tests."""
    with secrets_kept_apart():
        yield


def test_every_encoded_form_of_a_secret_is_masked():
    value = 'p@ss/w0rd+"ü &x<y>'
    Secret(value)
    forms = {
        "plain": value,
        "quote": quote(value, safe=""),
        "quote keeping /": quote(value),
        "quote_plus": quote_plus(value),
        "JSON": json.dumps(value)[1:-1],
        "JSON, UTF-8 kept": json.dumps(value, ensure_ascii=False)[1:-1],
        "JSON, slash escaped": json.dumps(value)[1:-1].replace("/", "\\/"),
        "base64": base64.b64encode(value.encode()).decode(),
    }
    forms["lower-case hex"] = re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(value, safe=""))
    assert forms["lower-case hex"] != forms["quote"]
    for name, form in forms.items():
        text = redact(f"server said: <{form}> (status 401)")
        assert form not in text, name
        assert text == f"server said: <{MASK}> (status 401)", (name, text)


def test_basic_credentials_of_a_pair_are_masked_and_the_user_id_stays():
    user, secret = "client-7", "s3cr3t:with+chars"
    remember_basic(user, secret)
    plain = base64.b64encode(f"{user}:{secret}".encode()).decode()
    encoded = base64.b64encode(f"{quote_plus(user)}:{quote_plus(secret)}".encode()).decode()
    for form in (plain, encoded, quote(plain, safe=""), quote_plus(encoded), secret):
        assert form not in redact(f"echo Authorization: Basic {form}"), form
    assert redact(f"client {user} refused") == f"client {user} refused"


@pytest.mark.parametrize("user", ["a", "ab", "abc", "an-api-user"])
def test_base64_that_holds_a_secret_is_masked_whole_even_unregistered(user):
    secret = Secret("only-the-secret/is+known")
    header = base64.b64encode(f"{user}:{secret.reveal()}".encode()).decode()
    lower_hex = re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), quote(header, safe=""))
    for form in (header, quote(header, safe=""), lower_hex, header.replace("/", "\\/")):
        assert redact(f"refused Basic {form} for you") == f"refused Basic {MASK} for you", form
    unrelated = base64.b64encode(f"{user}:something else entirely".encode()).decode()
    assert redact(f"Basic {unrelated}") == f"Basic {unrelated}"


def test_basic_pairs_with_a_one_character_secret_are_masked_too():
    remember_basic("someone", "Z")
    header = base64.b64encode(b"someone:Z").decode()
    assert redact(f"Basic {header}") == f"Basic {MASK}"


@pytest.mark.parametrize("secret", ["Q", "k9", "x7!"])
def test_short_secrets_are_masked_as_whole_tokens_only(secret):
    remember(secret)
    assert redact(f"login {secret} refused") == f"login {MASK} refused"
    assert redact(f"pw={secret}&next=1") == f"pw={MASK}&next=1"
    assert redact(f'{{"password": "{secret}"}}') == f'{{"password": "{MASK}"}}'
    assert redact(f"{secret}") == MASK
    untouched = f"Queue {secret}a a{secret} {secret}_x"
    assert redact(untouched) == untouched


def test_a_short_secret_leaves_words_that_contain_it_alone():
    remember("ab")
    assert redact("about a tab, ab.") == f"about a tab, {MASK}."


def test_a_forgotten_secret_is_shown_again_and_the_others_stay_masked():
    remember("logged-out-token-31c9")
    remember("still-used-token-77ab")
    forget("logged-out-token-31c9")
    assert redact("logged-out-token-31c9 still-used-token-77ab") == f"logged-out-token-31c9 {MASK}"


def test_a_replaced_token_is_masked_for_an_hour_then_forgotten(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(secrets, "clock", lambda: now[0])
    old, new = Secret("token-generation-one-7f3a"), "token-generation-two-9c1e"
    replaced(old, new)
    assert redact(f"{old.reveal()} {new}") == f"{MASK} {MASK}"
    now[0] += secrets.RENEWED_KEEP_SECONDS - 1
    assert old.reveal() not in redact(old.reveal())
    now[0] += 2
    assert redact(old.reveal()) == old.reveal()  # forgotten
    assert redact(new) == MASK  # the live one stays


def test_renewing_tokens_for_a_long_time_keeps_the_registry_small(monkeypatch):
    now = [5000.0]
    monkeypatch.setattr(secrets, "clock", lambda: now[0])
    before = remembered()
    token = Secret("renewed-token-00000")
    for generation in range(1, 2000):
        fresh = Secret(f"renewed-token-{generation:05d}")
        replaced(token, fresh)
        token = fresh
        now[0] += 60  # a token a minute: an hour holds 60 of them
    assert remembered() - before <= 62
    assert redact("renewed-token-01999 renewed-token-01950") == f"{MASK} {MASK}"
    assert redact("renewed-token-00005") == "renewed-token-00005"


def test_a_token_given_again_before_it_is_forgotten_stays_masked(monkeypatch):
    now = [9000.0]
    monkeypatch.setattr(secrets, "clock", lambda: now[0])
    replaced("reissued-token-aa11", "reissued-token-bb22")
    remember("reissued-token-aa11")  # the server handed the same token out again
    now[0] += 2 * secrets.RENEWED_KEEP_SECONDS
    assert redact("reissued-token-aa11") == MASK


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def log_home(tmp_path, monkeypatch):
    """Logging into a temporary state folder; the file handler is removed afterwards."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    yield tmp_path
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "ibmon", False)]:
        root.removeHandler(handler)
        handler.close()


def test_log_and_crash_files_are_private_whatever_the_umask(log_home):
    old_umask = os.umask(0o002)
    try:
        path = setup_logging()
        assert path is not None
        logging.getLogger("ibmon.test").warning("a line")
        for handler in logging.getLogger().handlers:
            handler.flush()
        crash = write_crash_log(RuntimeError("boom"))
        assert crash is not None
        handler = next(h for h in logging.getLogger().handlers if getattr(h, "ibmon", False))
        handler.doRollover()  # the file after a rollover is private too
        logging.getLogger("ibmon.test").warning("after the rollover")
    finally:
        os.umask(old_umask)
    assert _mode(path.parent) == 0o700
    assert _mode(path) == 0o600 and _mode(crash) == 0o600
    assert _mode(path.with_name(path.name + ".1")) == 0o600
    assert "RuntimeError: boom" in crash.read_text()


def test_an_existing_world_readable_log_and_folder_are_narrowed(log_home):
    from ibmon.logs import LOG_FILE, log_dir

    folder = log_dir()
    folder.mkdir(parents=True, mode=0o755)
    os.chmod(folder, 0o755)
    (folder / LOG_FILE).write_text("older lines\n")
    os.chmod(folder / LOG_FILE, 0o644)
    path = setup_logging()
    assert _mode(folder) == 0o700 and _mode(path) == 0o600
    assert path.read_text().startswith("older lines")


def test_shortened_text_is_redacted_before_it_is_cut():
    secret = Secret("a-long-secret-value-1234")
    text = "x" * 40 + secret.reveal() + " and more"
    for limit in range(41, len(text)):
        cut = secrets.shorten(text, limit)
        assert len(cut) <= limit and "a-long-s" not in cut, (limit, cut)
    assert secrets.shorten("nothing secret here", 30) == "nothing secret here"


def test_a_long_exception_is_described_without_a_cut_secret():
    from ibmon.errors import describe_exception

    secret = Secret("another-long-secret-5678")
    for pad in range(270, 300):
        described = describe_exception(RuntimeError("y" * pad + secret.reveal()))
        assert "another-" not in described and len(described) <= 300 and described.endswith(("...", MASK))
