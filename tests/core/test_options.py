from ibmon.options import (Option, apply_options, apply_rules, check_options, did_you_mean, given, one_of, requires,
                           rule_summary)
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


def test_url_options_need_a_host_a_valid_port_and_a_declared_scheme():
    rest = Option("base_url", "url", schemes=("http", "https"))
    assert rest.check("https://h.example/api") == ("https://h.example/api", None)
    assert rest.check("HTTP://h:8080")[1] is None  # schemes are case-insensitive, as URLs say
    assert rest.check("ftp://user:pa55word@h")[1] == "must start with http:// or https://, not ftp://"
    assert rest.check("https:///path")[1] == "must be a URL with a host, like scheme://host:port"
    assert rest.check("https://h:port")[1] == "must be a URL with a port from 0 to 65535 after the host"
    assert rest.check("h.example")[1] == "must be a URL like http://host:port, not 'h.example'"
    anything = Option("url", "url")
    assert anything.check("gopher://h")[1] is None and anything.check("nohost://")[1] is not None
    assert Option("u", "url", schemes=("wss",)).scheme_list == "wss://"


def test_numbers_are_finite_and_secrets_and_required_strings_are_not_empty():
    number = Option("n", "float", minimum=0.5)
    for value in (float("inf"), float("nan"), float("-inf")):  # TOML writes them inf, nan, -inf
        assert number.check(value)[1] == f"must be a finite number, not {value!r}"
    assert Option("p", "str", secret=True, help="the password").check("")[1] == "must not be empty (the password)"
    assert Option("q", "str", required=True).check("  ")[1] == "must not be empty (a string)"
    assert Option("tag", "str", default="").check("") == ("", None)


def test_one_of_and_requires_name_the_keys_and_what_is_missing():
    credentials = one_of("token", ("client_id", "client_secret"))
    assert credentials.__doc__ == 'needs "token", or "client_id" with "client_secret"'
    assert credentials({"token": Secret("tok-for-rules-5521")}) == []
    assert credentials({"client_id": "i", "client_secret": Secret("sec-for-rules-5521")}) == []
    assert credentials({"token": Secret(""), "client_id": "i"}) == [
        'needs "token", or "client_id" with "client_secret" ("client_secret" missing)']
    assert credentials({"token": None}) == ['needs "token", or "client_id" with "client_secret"']
    pair = requires("cert", "key", "chain")
    assert pair({"cert": "c"}) == ['"cert" needs "key" and "chain" ("key" and "chain" missing)']
    assert pair({"cert": "c", "key": "k", "chain": "ch"}) == [] and pair({}) == []
    assert rule_summary(pair) == '"cert" needs "key" and "chain"'
    assert [given(v) for v in (None, "", [], {}, Secret(""), 0, False, "x")] == [False] * 5 + [True] * 3


def test_apply_rules_contains_whatever_a_rule_does():
    def exits(values):
        raise SystemExit("a rule called sys.exit()")

    def mutates(values):
        values["token"] = "changed"

    def chatty(values):
        yield "line one\x1b[2J"
        yield 42

    problems = apply_rules((exits, mutates, chatty, lambda values: None, lambda values: "one line"),
                           {"token": "t"}, 'connection "C"')
    assert problems == ['connection "C": a check of these options failed: SystemExit: a rule called sys.exit()',
                        'connection "C": a check of these options failed: TypeError: '
                        "'mappingproxy' object does not support item assignment",
                        'connection "C": line one\\x1b[2J', 'connection "C": 42', 'connection "C": one line']


def test_check_options_runs_the_rules_only_once_each_option_is_right():
    declared = (Option("token", "str", secret=True), Option("client_id", "str"), Option("client_secret", "str"))
    rules = (one_of("token", ("client_id", "client_secret")),)
    assert check_options(declared, rules, {"token": 5})[1] == ['key "token" must be a string, not an integer']
    assert check_options(declared, rules, {}, "C")[1] == ['C: needs "token", or "client_id" with "client_secret"']
    values, problems = check_options(declared, rules, {"token": "tok-check-7731"})
    assert problems == [] and values["token"].reveal() == "tok-check-7731"
