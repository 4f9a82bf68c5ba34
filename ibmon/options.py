"""Provider options, declared once.

A provider lists its `Option`s; that one list drives config validation, the `ibmon config init`
template, `ibmon plugins` help text and the README's config reference.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Literal

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
    `{ command = "..." }`. `choices` restricts str values; `minimum`/`maximum` bound numbers.
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

    @property
    def type_name(self) -> str:
        return _TOML_TYPE_NAMES[self.type]

    def check(self, value: Any) -> tuple[Any, str | None]:
        """(converted value, None) or (None, what is wrong) for a value read from TOML."""
        kind = self.type
        if self.secret and isinstance(value, Secret):
            return value, None
        if kind in ("str", "url"):
            if not isinstance(value, str):
                return None, f"must be {self.type_name}, not {_describe(value)}"
            if kind == "url" and "://" not in value:
                return None, f"must be a URL like scheme://host:port, not {value!r}"
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


def _describe(value: Any) -> str:
    names = {str: "a string", bool: "a boolean", int: "an integer", float: "a number",
             list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


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
