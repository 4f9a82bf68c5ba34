"""The dashboard's keys in force: the user's `[keys]` checked against the binding ids (ibmon.keymap)
and the providers' declared screens (`Provider.screens`, bound as `screen.<id>`).

One function, `resolve_keys`, decides it for both `ibmon config check` and the app's start, so
the check reports exactly what the app would refuse:

* an unknown binding id or screen id, or a value that is not keys: the entry is a problem;
* a key the user gives to one binding that another binding also has: a problem naming both
  (bindings on one key shadow each other; which one runs depends on focus);
* a provider screen's suggested key that is already taken: that screen keeps no key of its own (the
  palette and `s` still open it), with a warning saying how to give it one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ibmon.api import Provider, ScreenSpec
from ibmon.keymap import CORE_BINDINGS, SCREEN_PREFIX
from ibmon.options import did_you_mean, quoted


@dataclass
class Keys:
    """What `resolve_keys` decided."""

    #: [keys] entries to apply (binding id -> keys), without the ones that are problems.
    keymap: dict[str, str] = field(default_factory=dict)
    #: Screen binding id -> (its screen, the keys it is bound to on the dashboard).
    screens: dict[str, tuple[ScreenSpec, str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def screen_bindings(providers: Iterable[Provider]) -> dict[str, ScreenSpec]:
    """`screen.<id>` -> its declaration, for the screens of `providers` (the first one of an id wins)."""
    found: dict[str, ScreenSpec] = {}
    for provider in providers:
        for spec in provider.screens:
            found.setdefault(SCREEN_PREFIX + spec.id, spec)
    return found


def flatten_keys(raw: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    """`[keys]` as binding id -> value. TOML reads the dotted form `screen.xtb = "b"` as a nested
    table: it is the binding id "screen.xtb", as if quoted."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, table: Mapping[str, Any]) -> None:
        for name, value in table.items():
            binding = prefix + str(name)
            if isinstance(value, dict) and value:
                walk(binding + ".", value)
            elif binding in flat:
                problems.append(f"[keys]: {quoted(binding)} is given twice")
            else:
                flat[binding] = value

    walk("", raw)
    return flat


def resolve_keys(keys: Mapping[str, Any], providers: Iterable[Provider], connected: Iterable[Provider]) -> Keys:
    """Check `keys` (binding id -> keys, flattened) against the core bindings and the screens of
    every registered provider (`providers`); the screens of `connected` (the providers of the
    configured connections) are the ones bound on the dashboard."""
    result = Keys()
    known = screen_bindings(providers)
    for binding, value in keys.items():
        problem = _entry_problem(binding, value, known)
        if problem:
            result.problems.append(f"[keys]: {problem}")
        else:
            result.keymap[binding] = value

    # who holds each key: the core bindings (the user's keys or the defaults), then the user's screen keys
    holders: dict[str, list[str]] = {}
    written: dict[str, str] = {}  # a normalised key -> how the user (or the default) wrote it

    def hold(binding: str, spelled: str) -> None:
        for part in spelled.split(","):
            name = key_name(part)
            if name not in written or binding in result.keymap:  # the user's spelling wins
                written[name] = part.strip()
            if binding not in holders.setdefault(name, []):
                holders[name].append(binding)

    for binding, (default, _description) in CORE_BINDINGS.items():
        hold(binding, result.keymap.get(binding, default))
    bound = screen_bindings(connected)
    for binding in bound:
        if binding in result.keymap:
            hold(binding, result.keymap[binding])

    clashing: set[str] = set()
    for name, bindings in holders.items():
        users = [b for b in bindings if b in result.keymap]
        if len(bindings) > 1 and users:  # the defaults never clash among themselves (a test says so)
            result.problems.append(f"[keys]: {quoted(written[name])} is the key of {_both(bindings)}: "
                                   "give one of them another key")
            clashing.update(users)
    for binding in clashing:
        del result.keymap[binding]

    for binding, spec in bound.items():
        if binding in result.keymap:
            result.screens[binding] = (spec, result.keymap[binding])
        elif binding in clashing or not spec.key:
            continue
        else:
            taken = [holders[key_name(part)] for part in spec.key.split(",") if key_name(part) in holders]
            if taken:
                result.warnings.append(
                    f"[keys]: the screen {binding} suggests {quoted(spec.key)}, which is the key of {taken[0][0]}: "
                    f'it has no key of its own until [keys] gives it one, e.g. "{binding}" = "f6"')
                continue
            result.screens[binding] = (spec, spec.key)
            hold(binding, spec.key)
    return result


def _entry_problem(binding: str, value: Any, screens: Mapping[str, ScreenSpec]) -> str | None:
    if binding.startswith(SCREEN_PREFIX):
        if binding not in screens:
            listed = ", ".join(sorted(screens)) or "none (no installed provider declares a screen)"
            return f"unknown screen id {quoted(binding)}{did_you_mean(binding, screens)}; screens: {listed}"
    elif binding not in CORE_BINDINGS:
        return (f"unknown binding id {quoted(binding)}{did_you_mean(binding, CORE_BINDINGS)}; ids: "
                f"{', '.join(CORE_BINDINGS)} or {SCREEN_PREFIX}<screen id>")
    if not isinstance(value, str) or not value.strip():
        return f'{quoted(binding)} must be keys as a string, e.g. "ctrl+r" or "r,f5"'
    if any(not part.strip() for part in value.split(",")):
        return f"{quoted(binding)}: an empty key in {quoted(value)} (keys are separated by single commas)"
    return None


def _both(bindings: list[str]) -> str:
    return "both " + " and ".join(bindings) if len(bindings) == 2 else ", ".join(bindings[:-1]) + " and " + bindings[-1]


def key_name(key: str) -> str:
    """A key as Textual names it: a single character by its name ("?" is question_mark)."""
    key = key.strip()
    if len(key) == 1 and not key.isalnum():  # only these need Textual's names: import it for them alone
        from ibmon.textual_seams import character_key

        return character_key(key)
    return key
