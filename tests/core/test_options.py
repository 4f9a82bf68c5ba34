from ibmon.options import Option, apply_options, did_you_mean
from ibmon.secrets import Secret

DECLARED = (
    Option("url", "url", required=True, help="server URL"),
    Option("password", "str", required=True, secret=True),
    Option("symbols", "list", default=["EURUSD"]),
    Option("poll_seconds", "float", default=5.0, minimum=0.5),
    Option("page_size", "int", default=100, minimum=1, maximum=1000),
    Option("verify", "bool", default=True),
    Option("mode", "str", default="demo", choices=("demo", "real")),
    Option("filters", "table", default=None),
)


def test_defaults_filled_and_secrets_wrapped():
    values, problems = apply_options(DECLARED, {"url": "tcp://127.0.0.1:1", "password": "hunter22"})
    assert problems == []
    assert values["symbols"] == ["EURUSD"] and values["page_size"] == 100 and values["verify"] is True
    assert isinstance(values["password"], Secret)
    assert values["password"].reveal() == "hunter22"
    assert "hunter22" not in repr(values) and "hunter22" not in str(values["password"])


def test_every_problem_is_reported_with_where_and_key():
    raw = {"url": "not a url", "pasword": "x", "symbols": "EURUSD", "poll_seconds": 0.1,
           "page_size": 5000, "verify": "yes", "mode": "live", "filters": [1]}
    _, problems = apply_options(DECLARED, raw, 'connection "XTB demo"')
    text = "\n".join(problems)
    assert all(p.startswith('connection "XTB demo": ') for p in problems)
    assert 'unknown key "pasword" (did you mean "password"?)' in text
    assert 'missing required key "password"' in text
    assert 'key "url" must be a URL' in text
    assert 'key "symbols" must be a list of strings, not a string' in text
    assert 'key "poll_seconds" must be at least 0.5' in text
    assert 'key "page_size" must be at most 1000' in text
    assert 'key "verify" must be true or false, not a string' in text
    assert 'key "mode" must be one of demo, real' in text
    assert 'key "filters" must be a table, not a list' in text
    assert len(problems) == 9


def test_int_option_refuses_floats_and_booleans():
    option = Option("n", "int")
    assert option.check(3) == (3, None)
    assert option.check(3.5)[1] and option.check(True)[1]


def test_did_you_mean_only_for_close_words():
    assert did_you_mean("symbls", ["symbols", "url"]) == ' (did you mean "symbols"?)'
    assert did_you_mean("zzz", ["symbols", "url"]) == ""
