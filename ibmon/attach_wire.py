"""The attach protocol between a collector and the dashboards attached to it: JSON text frames over
one WebSocket, in the store's own terms (record kinds, connections, keys; records by `ibmon.records`).

Collector → dashboard:

* `{"t": "full", "protocol": 1, "role": "full"|"read-only", "connections": [...], "records":
  [[kind, connection, record], ...], "health": [[connection, health], ...], "seen": {connection:
  age}, "facts": [...]}` once, on attaching: the whole picture.
* `{"t": "changes", "put": [[kind, connection, record]], "gone": [[kind, connection, key]],
  "health": [...], "facts": [...]}` after every burst of store writes (one frame per burst).
* `{"t": "seen", "ages": {connection: seconds}}` every second: when data last came (a keep-alive).
* `{"t": "result", "id": n, "ok": bool, "message": str, "records": [...]}` answers a request.

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
from collections.abc import Iterator
from typing import Any

from ibmon.mapping import Rejected
from ibmon.model import RECORD_KINDS, Health, RecordKind
from ibmon.records import RecordError, from_data, to_data
from ibmon.store import Store
from ibmon.validate import checked, key_of

PROTOCOL = 1
#: Largest frame either side accepts.
MAX_FRAME = 64 * 1024 * 1024
#: Largest frame a dashboard may send to the collector.
MAX_CLIENT_FRAME = 64 * 1024
#: Store tables by kind (the store keeps one dict per kind and connection).
TABLES = {"account": "accounts", "position": "positions", "tick": "ticks", "leads": "leads"}
#: Targets of quick actions, as records of these kinds (or the connection itself).
TARGET_KINDS = ("account", "position")


def table(store: Store, kind: str) -> dict[str, dict[Any, Any]]:
    return getattr(store, TABLES[kind])


def current(store: Store, kind: str, connection: str, key: Any) -> Any:
    return table(store, kind).get(connection, {}).get(key)


def every_record(store: Store) -> Iterator[tuple[str, str, Any]]:
    for kind in TABLES:
        for connection, records in table(store, kind).items():
            for record in records.values():
                yield kind, connection, record


# -- values ----------------------------------------------------------------------------------------

def wire_key(key: Any) -> Any:
    return list(key) if isinstance(key, tuple) else key


def read_key(kind: RecordKind, raw: Any) -> Any:
    """A key off the wire (None when it is not one of `kind`'s)."""
    key = tuple(raw) if isinstance(raw, list) else raw
    return key_of(kind, Rejected("", key)) if key is not None else None


def read_record(kind_name: Any, raw: Any) -> tuple[RecordKind, Any]:
    """(kind, record) off the wire, checked as the sink checks a session's (RecordError if not)."""
    kind = RECORD_KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        raise RecordError(f"unknown record kind {str(kind_name)[:40]!r}")
    record, why = checked(kind, from_data(kind.cls, raw))
    if why is not None:
        raise RecordError(f"{kind.name}: {why}")
    return kind, record


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


# -- writing into a store --------------------------------------------------------------------------

def put(store: Store, kind: str, connection: str, record: Any) -> None:
    if kind == "account":
        store.set_account(connection, record)
    elif kind == "position":
        store.set_position(connection, record)
    elif kind == "tick":
        store.set_tick(connection, record)
    else:
        store.set_leads(connection, record)


def remove(store: Store, kind: str, connection: str, key: Any) -> None:
    records = table(store, kind).get(connection, {})
    if key not in records:
        return
    if kind == "account":
        store.replace_accounts(connection, [a for k, a in records.items() if k != key])
    elif kind == "position":
        store.remove_position(connection, *key)
    else:  # the store has no single removal for ticks and lead windows: drop it and tell the watchers
        del records[key]
        store._changed(kind, connection, key)  # type: ignore[arg-type]


def replace_all(store: Store, connection: str, kind: str, records: dict[Any, Any]) -> None:
    """Make the connection's `kind` records exactly `records` (key → record)."""
    if kind == "account":
        store.replace_accounts(connection, records.values())
        return
    if kind == "position":
        store.replace_positions(connection, records.values())
        return
    for key in [k for k in table(store, kind).get(connection, {}) if k not in records]:
        remove(store, kind, connection, key)
    here = table(store, kind).get(connection, {})
    for key, record in records.items():
        if here.get(key) != record:
            put(store, kind, connection, record)
