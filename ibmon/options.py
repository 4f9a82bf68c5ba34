"""Provider options, declared once, and the rules across them.

A provider lists its `Option`s and its `rules`; that one declaration drives config validation
(`ibmon config check` and the app's start alike), the `ibmon config init` template and the
README's config reference.

A rule checks what one option cannot check alone (say, "a token, or client_id with client_secret").
It is a callable that receives the connection's checked option values (defaults filled in, secrets
as `Secret`, read-only) and returns the problems it finds, one line each naming the keys involved;
the host puts the connection in front. `one_of` and `requires` build the common ones. A rule's
docstring (the first line) documents it in the config template and the README.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import urlsplit

from ibmon.errors import PLUGIN_FAILURES, describe_exception
from ibmon.safe import safe_text
from ibmon.secrets import Secret

OptionType = Literal["str", "int", "float", "bool", "list", "table", "url"]

_TOML_TYPE_NAMES = {
    "str": "a string",
    "url": "a URL string",
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "list": "a list of strings",
    "table": "a table",
}


@dataclass(frozen=True)
class Option:
    """One option of a provider.

    `type` is one of str, url, int, float, bool, list (of strings), table. A `secret` option is
    handed to the session as a `Secret` and may be given in config as `{ env = "VAR" }` or
    `{ command = "..." }`; it is never empty, nor is a `required` string. `choices` restricts str
    values; `minimum`/`maximum` bound numbers (which are always finite). A url value needs a host;
    `schemes` lists the URL schemes the provider accepts (None: any).
    `example` fills the `config init` template when there is no default.
    """

    name: str
    type: OptionType = "str"
    default: Any = None
    required: bool = False
    secret: bool = False
    help: str = ""
    choices: tuple[str, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    example: Any = None
    schemes: tuple[str, ...] | None = None

    @property
    def type_name(self) -> str:
        return _TOML_TYPE_NAMES[self.type]

    @property
    def scheme_list(self) -> str:
        """The accepted schemes as people read them: "http:// or https://"."""
        names = [f"{scheme}://" for scheme in self.schemes or ()]
        return " or ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)

    def check(self, value: Any) -> tuple[Any, str | None]:
        """(converted value, None) or (None, what is wrong) for a value read from TOML."""
        kind = self.type
        if self.secret and isinstance(value, Secret):
            return value, None
        if kind in ("str", "url"):
            if not isinstance(value, str):
                return None, f"must be {self.type_name}, not {_describe(value)}"
            if (self.secret or self.required) and not value.strip():
                return None, f"must not be empty ({self.help or self.type_name})"
            if kind == "url":
                problem = self._url_problem(value)
                if problem:
                    return None, problem
            if self.choices and value not in self.choices:
                return None, f"must be one of {', '.join(self.choices)}, not {value!r}"
            return (Secret(value) if self.secret else value), None
        if kind == "bool":
            if not isinstance(value, bool):
                return None, f"must be true or false, not {_describe(value)}"
            return value, None
        if kind in ("int", "float"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return None, f"must be {self.type_name}, not {_describe(value)}"
            if kind == "int" and not isinstance(value, int):
                return None, f"must be an integer, not {value!r}"
            if not math.isfinite(value):
                return None, f"must be a finite number, not {value!r}"
            if self.minimum is not None and value < self.minimum:
                return None, f"must be at least {self.minimum:g}, not {value!r}"
            if self.maximum is not None and value > self.maximum:
                return None, f"must be at most {self.maximum:g}, not {value!r}"
            return value, None
        if kind == "list":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                return None, f"must be a list of strings, not {_describe(value)}"
            return list(value), None
        if kind == "table":
            if not isinstance(value, dict):
                return None, f"must be a table, not {_describe(value)}"
            return dict(value), None
        raise ValueError(f"unknown option type {kind!r}")

    def _url_problem(self, value: str) -> str | None:
        """What keeps `value` from being a URL this option takes. Only the scheme is quoted back: a
        URL may hold credentials."""
        if "://" not in value:
            return f"must be a URL like {(self.schemes or ('scheme',))[0]}://host:port, not {value!r}"
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
        except ValueError:
            return "must be a URL with a port from 0 to 65535 after the host"
        if self.schemes is not None and parts.scheme not in self.schemes:
            return f"must start with {self.scheme_list}, not {safe_text(parts.scheme, 20)}://"
        if not parts.hostname:
            return "must be a URL with a host, like scheme://host:port"
        return None


def _describe(value: Any) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number",
             list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


def quoted(text: str) -> str:
    """`text` in double quotes for a one-line message; line breaks and other controls escaped."""
    return f'"{text}"' if text.isprintable() else json.dumps(text, ensure_ascii=False)


def did_you_mean(word: str, candidates: list[str] | tuple[str, ...] | set[str]) -> str:
    """' (did you mean "x"?)' for the closest candidate, or ''."""
    close = difflib.get_close_matches(word, sorted(candidates), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""


def apply_options(declared: tuple[Option, ...] | list[Option], raw: dict[str, Any],
                  where: str = "") -> tuple[dict[str, Any], list[str]]:
    """Check `raw` option values against the declaration.

    Returns (values with defaults filled in and secrets wrapped, problems). Each problem names
    `where` (e.g. 'connection "XTB demo"') and the key; unknown keys get a "did you mean".
    """
    prefix = f"{where}: " if where else ""
    by_name = {option.name: option for option in declared}
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in raw.items():
        option = by_name.get(key)
        if option is None:
            problems.append(f'{prefix}unknown key "{key}"{did_you_mean(key, by_name)}')
            continue
        converted, problem = option.check(value)
        if problem:
            problems.append(f'{prefix}key "{key}" {problem}')
        else:
            values[key] = converted
    for option in declared:
        if option.name in values or option.name in raw:
            continue
        if option.required:
            problems.append(f'{prefix}missing required key "{option.name}" ({option.help or option.type_name})')
        else:
            values[option.name] = option.default
    return values, problems


# -- rules across options ----------------------------------------------------------------------

#: A rule across a provider's options: checked option values in, problem lines out (see the module).
Rule = Callable[[Mapping[str, Any]], Iterable[str] | str | None]

#: Lines one rule may report, and characters per line: a plugin's rule is bounded like its other output.
RULE_LINES, RULE_LINE_LIMIT = 20, 300


def given(value: Any) -> bool:
    """Whether an option value counts as set: not None, and not an empty string, secret, list or table."""
    if value is None:
        return False
    if isinstance(value, (str, Secret, list, tuple, dict)):
        return bool(value)
    return True


def _quoted_keys(keys: Iterable[str], joint: str) -> str:
    names = [f'"{key}"' for key in keys]
    return f" {joint} ".join([", ".join(names[:-1]), names[-1]]) if len(names) > 1 else "".join(names)


def one_of(*alternatives: str | tuple[str, ...]) -> Rule:
    """A rule: at least one alternative is given in full; an alternative is a key, or a tuple of keys
    that go together. `one_of("token", ("client_id", "client_secret"))` reads: needs "token", or
    "client_id" with "client_secret"."""
    groups = [(alt,) if isinstance(alt, str) else tuple(alt) for alt in alternatives]
    need = "needs " + ", or ".join(_quoted_keys(group, "with") for group in groups)

    def rule(values: Mapping[str, Any]) -> list[str]:
        if any(all(given(values.get(key)) for key in group) for group in groups):
            return []
        partial = [group for group in groups if any(given(values.get(key)) for key in group)]
        if partial:
            missing = [key for key in partial[0] if not given(values.get(key))]
            return [f"{need} ({_quoted_keys(missing, 'and')} missing)"]
        return [need]

    rule.__doc__ = need
    return rule


def requires(key: str, *needed: str) -> Rule:
    """A rule: when `key` is given, every key of `needed` is given too."""
    text = f'"{key}" needs {_quoted_keys(needed, "and")}'

    def rule(values: Mapping[str, Any]) -> list[str]:
        missing = [other for other in needed if not given(values.get(other))]
        if given(values.get(key)) and missing:
            return [f"{text} ({_quoted_keys(missing, 'and')} missing)"]
        return []

    rule.__doc__ = text
    return rule


def rule_summary(rule: Rule) -> str:
    """The first line of a rule's docstring (how the template and the README describe it), or ''."""
    doc = getattr(rule, "__doc__", None)
    return safe_text(doc.strip().splitlines()[0], RULE_LINE_LIMIT) if isinstance(doc, str) and doc.strip() else ""


def apply_rules(rules: Iterable[Rule], values: Mapping[str, Any], where: str = "") -> list[str]:
    """Every rule's problems with `values`, one line each after `where`. A rule is a plugin's code:
    whatever it raises or returns is reported as one line, bounded, never as an exception."""
    prefix = f"{where}: " if where else ""
    frozen = MappingProxyType(dict(values))
    problems: list[str] = []
    for rule in rules:
        try:
            found = rule(frozen)
            lines = [found] if isinstance(found, str) else list(itertools.islice(found or (), RULE_LINES))
        except PLUGIN_FAILURES as exc:
            lines = [f"a check of these options failed: {describe_exception(exc)}"]
        problems += [prefix + safe_text(str(line), RULE_LINE_LIMIT) for line in lines if str(line).strip()]
    return problems


def check_options(declared: tuple[Option, ...] | list[Option], rules: Iterable[Rule], raw: dict[str, Any],
                  where: str = "") -> tuple[dict[str, Any], list[str]]:
    """`apply_options`, then (when every option is right) the rules across them: how a connection's
    options are checked, in config validation and in `ibmon.testing.make_context` alike."""
    values, problems = apply_options(declared, raw, where)
    return values, problems or apply_rules(rules, values, where)


#: The one declaration of TLS verification every provider with TLS endpoints uses: same key,
#: same default (on), same health-line note when a connection turns it off.
TLS_VERIFY = Option("tls_verify", "bool", default=True,
                    help="verify the server's TLS certificate; turn off only for a trusted test server "
                         "(the connection's health line then says so)")
TLS_OFF_NOTE = "TLS verification off"

#: The one declaration of the total deadline of one HTTP request (`ibmon.http.HttpClient`'s
#: `timeout`): a server that answers slowly, a byte at a time or not at all fails that request.
REQUEST_TIMEOUT = Option("timeout", "float", default=20.0, minimum=0.1, maximum=3600,
                         help="seconds one request may take in all (connecting, the headers and the whole "
                              "body); a slower reply fails that request")

#: The one declaration of the bounds on paging and cursor walks (`ibmon.paging.WalkLimits`) every
#: provider that walks a list uses: a walk stops there, keeps what it read and says so on the
#: connection's health line.
MAX_PAGES = Option("max_pages", "int", default=1000, minimum=1, maximum=1_000_000,
                   help="stop walking a list after this many pages (the health line then says so)")
MAX_RECORDS = Option("max_records", "int", default=100_000, minimum=1, maximum=10_000_000,
                     help="stop walking a list after this many records (the health line then says so)")
WALK_LIMITS = (MAX_PAGES, MAX_RECORDS)
