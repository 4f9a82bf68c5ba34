"""The attach protocol between a collector and the dashboards attached to it: JSON text frames over
one WebSocket, in the store's own terms (record kinds, connections, keys; records by `ibmon.records`).

Collector → dashboard:

* `{"t": "full", "protocol": 2, "role": "full"|"read-only", "connections": [...], "records":
  [[kind, connection, record], ...], "health": [[connection, health], ...], "seen": {connection:
  age}, "facts": [...]}` once, on attaching: the whole picture.
* `{"t": "changes", "put": [[kind, connection, record]], "gone": [[kind, connection, key]],
  "health": [...], "facts": [...]}` after every burst of store writes (one frame per burst).
* `{"t": "seen", "ages": {connection: seconds}}` every second: when data last came (a keep-alive).
* `{"t": "result", "id": n, "ok": bool, "message": str, "records": [record, ...]}` answers a request
  (the records of the request's declared type, which the dashboard decodes as its own provider
  declares it).

A connection is `{"name", "provider", "title", "read_only", "actions": [...], "options": {...}}`;
`options` are its options without the secret ones (`Connection.public_options`), for its screens.
Records of every kind the collector's store knows travel, the built-in ones and those plugins
declare, by kind name; a dashboard takes a kind only when its own installed provider of that
connection declares it (decoded with its own class and checked as the sink checks a session's).

Dashboard → collector: `{"t": "action", "id": n, "connection": c, "action": id, "kind": k, "key":
key}`, `{"t": "request", "id": n, "connection": c, "name": name, "params": {...}}` and
`{"t": "refresh", "connection": c | null}`.

Times on the wire are ages in seconds (monotonic clocks differ between machines); keys are a string
or a list of strings. `facts` tell a dashboard, per record a quick action could target, whether
each action applies to it and what to ask before running it: [connection, kind, key, {action id:
[available, question, typed confirmation or null]}] (the actions' own code runs on the collector).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from typing import Any

from ibmon.mapping import Rejected
from ibmon.model import Health, RecordKind
from ibmon.records import RecordError, from_data, to_data
from ibmon.store import Store
from ibmon.validate import checked, key_of

PROTOCOL = 2
#: Largest frame either side accepts.
MAX_FRAME = 64 * 1024 * 1024
#: Largest frame a dashboard may send to the collector.
MAX_CLIENT_FRAME = 64 * 1024
#: Targets of quick actions, as records of these kinds (or the connection itself).
TARGET_KINDS = ("account", "position")


def every_record(store: Store) -> Iterator[list[Any]]:
    """[kind, connection, record data] of every record of every registered kind."""
    for kind, tables in store.tables.items():
        for connection, records in tables.items():
            for record in records.values():
                yield [kind, connection, to_data(record)]


# -- values ----------------------------------------------------------------------------------------

def wire_key(key: Any) -> Any:
    return list(key) if isinstance(key, tuple) else key


def read_key(kind: RecordKind, raw: Any) -> Any:
    """A key off the wire (None when it is not one of `kind`'s)."""
    key = tuple(raw) if isinstance(raw, list) else raw
    return key_of(kind, Rejected("", key)) if key is not None else None


def read_kind(kinds: Mapping[str, RecordKind], name: Any) -> RecordKind:
    """The kind `name` names among `kinds` (the ones the receiving connection declares)."""
    kind = kinds.get(name) if isinstance(name, str) else None
    if kind is None:
        raise RecordError(f"unknown record kind {str(name)[:60]!r}")
    return kind


def read_record(kind: RecordKind, raw: Any) -> Any:
    """A `kind` record off the wire, checked as the sink checks a session's (RecordError if not)."""
    record, why = checked(kind, from_data(kind.record, raw))
    if why is not None:
        raise RecordError(f"{kind.name}: {why}")
    return record


def options_data(options: Mapping[str, Any]) -> dict[str, Any]:
    """Option values as JSON (values JSON cannot carry, such as TOML dates in a table, are left out)."""
    data = {}
    for name, value in options.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        data[name] = value
    return data


def health_data(health: Health, now: float) -> dict[str, Any]:
    data = to_data(health)
    data["since"] = max(0.0, now - health.since)
    if health.next_try_at is not None:
        data["next_try_at"] = health.next_try_at - now
    return data


def read_health(raw: Any, now: float) -> Health:
    health = from_data(Health, raw)
    return dataclasses.replace(health, since=now - health.since,
                               next_try_at=None if health.next_try_at is None else now + health.next_try_at)
