"""Secret references in a config: `{ env = "VAR" }` or `{ command = "pass show x" }` stand for the
value they yield, so a secret need not be written in the file. Problems never include the value
or the command's output."""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import Any

REFERENCE_KINDS = ("env", "command")
#: Seconds a `{ command = ... }` may take.
COMMAND_TIMEOUT = 10.0


def is_reference(value: Any) -> bool:
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in REFERENCE_KINDS


def resolve_reference(ref: dict[str, Any]) -> tuple[str, str | None]:
    """(value, None) or ("", problem). Problems never include the value or the command's output."""
    kind, target = next(iter(ref.items()))
    if not isinstance(target, str) or not target.strip():
        return "", f'{{ {kind} = ... }} needs a non-empty string'
    if kind == "env":
        value = os.environ.get(target)
        if value is None:
            return "", f"environment variable {target} is not set"
        if not value:
            return "", f"environment variable {target} is empty"
        return value, None
    return _run_command(target)


def _run_command(command: str) -> tuple[str, str | None]:
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        return "", f"cannot parse command ({exc})"
    if not argv:
        return "", "the command is empty"
    program = argv[0]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                              stdin=subprocess.DEVNULL, check=False)
    except FileNotFoundError:
        return "", f'command "{program}" not found'
    except PermissionError:
        return "", f'command "{program}" is not executable'
    except subprocess.TimeoutExpired:
        return "", f'command "{program}" did not finish within {COMMAND_TIMEOUT:g} s'
    except OSError as exc:
        return "", f'command "{program}" could not run ({exc.strerror or type(exc).__name__})'
    if done.returncode != 0:
        return "", f'command "{program}" failed with exit status {done.returncode}'
    value = done.stdout.strip()
    if not value:
        return "", f'command "{program}" printed nothing'
    return value, None
