"""Any config document, however wrong, is validated without an exception: every mistake is one clear
line naming where it is, and no secret value is ever quoted back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ibmon import config as cfg

SECRET_MARK = "S3CRETvalue"


@pytest.fixture(scope="module")
def host():
    _settings, host = cfg.load_plugins({}, None)
    return host


scalars = (st.none() | st.booleans() | st.integers(-10**6, 10**12) | st.floats(allow_nan=False, allow_infinity=False)
           | st.text(max_size=15) | st.sampled_from(["http://127.0.0.1:1", "tcp://h:1", "PUT", "yes", ""]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                          max_size=3), max_leaves=6)


@st.composite
def documents(draw, host):
    providers = sorted(host.providers)
    connections = []
    for _ in range(draw(st.integers(0, 4))):
        provider = draw(st.sampled_from(providers + ["xbt", "", "nope"]))
        declared = host.providers[provider].options if provider in host.providers else ()
        keys = [o.name for o in declared] + ["name", "enabled", "read_only", "poll_timeout", "pasword", "tokn"]
        entry = {}
        for key in draw(st.lists(st.sampled_from(keys), max_size=8, unique=True)):
            option = next((o for o in declared if o.name == key), None)
            if option is not None and option.secret:
                entry[key] = draw(st.sampled_from([SECRET_MARK + draw(st.text(max_size=5)), 12345678,
                                                   ["x"], {"env": "IBMON_SURELY_UNSET_VAR"}]))
            else:
                entry[key] = draw(values)
        if draw(st.booleans()):
            entry["provider"] = provider
        connections.append(entry)
    doc = {"connections": connections}
    for key in draw(st.lists(st.sampled_from(list(cfg.TOP_LEVEL_KEYS[:-1]) + ["refresh", "themes"]), max_size=4,
                             unique=True)):
        doc[key] = draw(values)
    return doc


@settings(max_examples=120, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow,
                                                                                   HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_document_gives_one_line_per_mistake_and_never_quotes_a_secret(host, data):
    doc = data.draw(documents(host))
    config = cfg.build_config(doc, host)
    for problem in config.problems + config.warnings:
        assert problem.strip() and "\n" not in problem, problem
        assert SECRET_MARK not in problem, problem
    if not config.problems:
        for connection in config.connections:
            assert connection.provider in host.providers or connection.unavailable
