"""`ibmon config check` equals the app's start: whatever the check accepts, `ibmon run` starts with
nothing refused (every connection connected, the theme and every key in force), and whatever the
check refuses, `ibmon run` refuses with the very same lines.

The documents are built from the first-party providers' own declarations (their options, the rules
across them, their screens), mostly right and sometimes wrong in one of the ways users get them
wrong, written to a file and given to the real commands. `ibmon run` runs the real dashboard,
headless, until its start is over; its connections aim at closed loopback ports.
"""

from __future__ import annotations

import contextlib
import io
import time
from datetime import timedelta

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings, strategies as st
from textual.app import App

from ibmon import config as cfg
from ibmon.app import IbmonApp
from ibmon.cli import main
from ibmon.keymap import CORE_BINDINGS
from ibmon.model import HealthState
from ibmon.options import Option

SET_VAR, UNSET_VAR = "IBMON_AGREE_SET", "IBMON_AGREE_UNSET"
CLOSED_PORTS = (1, 9)  # nothing listens there (nor, in a test, on 80): connections fail at once, on loopback
KEYS = ("r", "x", "b", "q", "h", "?", "question_mark", "f5", "f6", "ctrl+r", "r,f7", "")


@pytest.fixture(scope="module")
def host():
    _settings, host = cfg.load_plugins({}, None, only=None)
    assert sorted(host.providers) == ["b2core", "crm", "ctrader", "ibkr_flex", "xtb"]
    return host


text = st.text(st.characters(min_codepoint=ord("a"), max_codepoint=ord("z")), min_size=1, max_size=6)


def url(option: Option, mistakes: bool) -> st.SearchStrategy[str]:
    schemes = list(option.schemes or ("http",))
    good = st.builds(lambda scheme, port: f"{scheme}://127.0.0.1:{port}/", st.sampled_from(schemes),
                     st.sampled_from(CLOSED_PORTS))
    portless = st.sampled_from([f"{scheme}://127.0.0.1" for scheme in schemes])  # wrong for a socket only
    if not mistakes:
        return st.one_of(good, good, portless)
    wrong = st.sampled_from([f"{s}://127.0.0.1:1" for s in ("ftp", "https", "tls", "ws") if s not in schemes]
                            + [f"{schemes[0]}://", f"{schemes[0]}://h:99999", "127.0.0.1:1", ""])
    return st.one_of(good, good, good, wrong, portless)


def right(option: Option) -> st.SearchStrategy:
    if option.type == "url":
        return url(option, mistakes=False)
    if option.choices:
        return st.sampled_from(option.choices)
    if option.secret:
        return st.one_of(text.map(lambda t: f"s3cret-{t}"), st.just({"env": SET_VAR}))
    low = option.minimum if option.minimum is not None else 0
    high = option.maximum if option.maximum is not None else low + 10_000
    return {"str": text, "bool": st.booleans(), "list": st.lists(text, max_size=3),
            "table": st.dictionaries(text, text | st.booleans(), max_size=2),
            "int": st.integers(int(low), int(high)),
            "float": st.floats(low, high, allow_nan=False, allow_infinity=False)}[option.type]


def wrong(option: Option) -> st.SearchStrategy:
    if option.type == "url":
        return url(option, mistakes=True)
    options = ["", 5, [1], {"env": UNSET_VAR}, {"evn": "X"}]
    if option.type in ("int", "float"):
        options = [float("nan"), float("inf"), 1.5 if option.type == "int" else "fast", {"env": UNSET_VAR}]
        options += [option.minimum - 1] if option.minimum is not None else []
        options += [option.maximum + 1] if option.maximum is not None else []
    return st.sampled_from(options)


@st.composite
def connection(draw, host, index: int, mistakes: bool) -> dict:
    """A connection written from its provider's declaration: every option right by its own
    declaration, or (`mistakes`) now and then one wrong the way users get them wrong. The rules
    across options hold by chance (credentials given or not, a socket URL with or without a port)."""
    provider = host.providers[draw(st.sampled_from(sorted(host.providers)))]
    name = draw(st.sampled_from([f"C{index}", "C0"])) if mistakes else f"C{index}"
    entry: dict = {"name": name, "provider": provider.name}
    for option in provider.options:
        # every URL is written: a default one would reach out to the provider's real server
        if option.type == "url" or draw(st.floats(0, 1)) < (0.97 if option.required else 0.5):
            slip = mistakes and (option.type == "url" or draw(st.integers(0, 11)) == 0)  # a URL: 1 in 4
            entry[option.name] = draw(wrong(option) if slip else right(option))
    extra = [("enabled", st.booleans()), ("read_only", st.booleans()), ("poll_timeout", st.sampled_from([30, 600.5]))]
    if mistakes:
        extra += [("enabled", st.just("yes")), ("poll_timeout", st.sampled_from([0, "slow"])), ("pasword", text)]
    for key, value in extra:
        if draw(st.integers(0, 5)) == 0:
            entry[key] = draw(value)
    return entry


@st.composite
def documents(draw, host) -> dict:
    """Half the documents are meant to be right (each option right, their keys all different, a
    known theme), half may hold mistakes anywhere."""
    mistakes = draw(st.booleans())
    count = draw(st.integers(0, 3) if mistakes else st.integers(1, 4))  # one start tries several connections
    doc: dict = {"connections": [draw(connection(host, i, mistakes)) for i in range(count)]}
    if draw(st.booleans()):
        doc["theme"] = draw(st.sampled_from(["ibmon-dark", "ibmon-nord", "nord"] + (["ibmon-nrod"] if mistakes else [])))
    screens = [f"screen.{spec.id}" for provider in host.providers.values() for spec in provider.screens]
    ids = [*CORE_BINDINGS, *screens] + (["screen.nope", "refrsh"] if mistakes else [])
    free = iter(("f5", "f6", "f7", "f8", "ctrl+r", "f9,f10"))  # keys no binding has by default
    keys: dict = {}
    for binding in draw(st.lists(st.sampled_from(ids), max_size=3, unique=True)):
        value = draw(st.sampled_from(KEYS)) if mistakes else next(free)
        if binding.startswith("screen.") and draw(st.booleans()):  # TOML's dotted form
            keys.setdefault("screen", {})[binding.removeprefix("screen.")] = value
        else:
            keys[binding] = value
    if keys:
        doc["keys"] = keys
    return doc


def run_command(argv: list[str]) -> tuple[int, list[str]]:
    """Exit status and the problem lines on stderr (warnings are not refusals)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(argv)
    return status, [line for line in err.getvalue().splitlines() if not line.startswith("ibmon: warning:")]


def refusals_at_start(app: IbmonApp) -> list[str]:
    """What the started app refused: a connection that did not start, a theme or a key not in force."""
    found = []
    for conn in app.runtime.connections.values():
        if conn.enabled and (conn.session is None or not conn.tasks):
            found.append(f"connection {conn.name}: {conn.health.detail}")
    if app.theme != app.requested_theme:
        found.append(f"theme {app.requested_theme} not in force ({app.theme})")
    found += app.resolved_keys().problems
    bound = {a.binding.id: a.binding.key for a in app.dashboard.active_bindings.values() if a.binding.id}
    for binding, keys in app.keys.items():
        if binding in CORE_BINDINGS or binding in app.resolved_keys().screens:
            if binding not in bound:
                found.append(f"{binding} is not bound")
    return found


@pytest.fixture
def headless_run(monkeypatch, tmp_path):
    """`IbmonApp.run` runs the real app headless until its start is over, then records what it
    refused and exits."""
    for var in ("XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    monkeypatch.delenv("IBMON_PLUGINS", raising=False)
    monkeypatch.delenv(cfg.ENV_CONFIG, raising=False)
    monkeypatch.setenv(SET_VAR, "s3cret-from-the-environment")
    monkeypatch.delenv(UNSET_VAR, raising=False)
    seen: list[list[str]] = []

    def run(app: IbmonApp, **_kwargs) -> None:
        async def after_start(pilot) -> None:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and any(
                    c.enabled and c.session is None and c.health.state is not HealthState.ERROR
                    for c in app.runtime.connections.values()):
                await pilot.pause(0.01)
            await pilot.pause()
            seen.append(refusals_at_start(app))
            app.exit()

        App.run(app, headless=True, size=(100, 30), auto_pilot=after_start)

    monkeypatch.setattr(IbmonApp, "run", run)
    return seen


@settings(max_examples=80, deadline=timedelta(seconds=30),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_config_check_accepts_exactly_what_the_app_starts_with(host, headless_run, tmp_path, data):
    doc = data.draw(documents(host))
    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(doc))
    path.chmod(0o600)

    check_status, check_lines = run_command(["config", "check", "--config", str(path)])
    headless_run.clear()
    run_status, run_lines = run_command(["run", "--config", str(path)])

    if check_status == 0:
        assert check_lines == []
        assert (run_status, run_lines, headless_run) == (0, [], [[]]), doc
    else:
        assert check_lines, doc
        assert run_status == 1 and run_lines == check_lines and headless_run == [], doc


def test_the_documents_reach_both_outcomes_and_every_kind_of_mistake(host, monkeypatch):
    """The generator is worth its name: over a fixed sample, configs of both outcomes (with
    connections) and the mistakes the check must find (rules, schemes, themes, keys) all occur."""
    monkeypatch.setenv(SET_VAR, "s3cret-from-the-environment")
    accepted, lines = [], []

    @settings(max_examples=300, derandomize=True, database=None, deadline=None)
    @given(documents(host))
    def sample(doc) -> None:
        problems = cfg.build_config(doc, host).problems
        lines.extend(problems)
        if not problems and doc["connections"]:
            accepted.append(doc)

    sample()
    assert len(accepted) > 60, len(accepted)  # with connections
    assert any("screen" in doc.get("keys", {}) for doc in accepted)  # the dotted form, accepted
    for mark in ('needs "token"', "must start with", "needs a port", "unknown theme", "is the key of both",
                 "unknown screen id", "must be a finite number"):
        assert any(mark in line for line in lines), mark


@pytest.mark.parametrize("doc, refused", [
    ({"connections": [{"name": "B", "provider": "b2core", "base_url": "http://127.0.0.1:1", "client_id": "id"}]},
     "connection B: "),
    ({"connections": [{"name": "X", "provider": "xtb", "url": "tls://127.0.0.1", "stream_url": "ws://127.0.0.1:1",
                       "user_id": "1", "password": "xtb-pw-6620"}]}, "connection X: "),
])
def test_the_start_side_sees_a_refusal_the_check_would_have_missed(headless_run, tmp_path, monkeypatch, doc, refused):
    """With a provider's rules taken away, the check lets the mistake through and the app's start
    refuses the connection: the comparison above watches the app itself, not the check again."""
    import ibmon_b2core
    import ibmon_xtb

    path = tmp_path / "config.toml"
    path.write_text(tomli_w.dumps(doc))
    path.chmod(0o600)
    check_status, check_lines = run_command(["config", "check", "--config", str(path)])
    assert check_status == 1 and len(check_lines) == 1  # the declared rule finds it
    assert run_command(["run", "--config", str(path)]) == (1, check_lines)

    monkeypatch.setattr(ibmon_b2core, "RULES", ())
    monkeypatch.setattr(ibmon_xtb, "RULES", ())
    assert run_command(["config", "check", "--config", str(path)]) == (0, [])
    headless_run.clear()
    assert run_command(["run", "--config", str(path)]) == (0, [])
    [[refusal]] = headless_run
    assert refusal.startswith(refused)
