"""Checks and how they are shown: a table or JSON, every line passed through one redactor first, so no
secret reaches the terminal, a log or a CI artifact (only the last four characters of a key survive)."""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
from dataclasses import asdict, dataclass

PASS, WARN, FAIL, SKIP = "pass", "warn", "fail", "skip"
_MARK = {PASS: "[green]✔ pass[/]", WARN: "[yellow]! warn[/]", FAIL: "[red]✘ fail[/]", SKIP: "[dim]- skip[/]"}
# Stripe secret/restricted/publishable keys, signing secrets, Clerk keys: prefix kept, last four kept
_SECRET_SHAPE = re.compile(r"\b(whsec|sk_test|sk_live|rk_test|rk_live|pk_test|pk_live)_([A-Za-z0-9_+/=$-]+)")
_SECRET_NAME = re.compile(r"SECRET|KEY|TOKEN|PASSWORD", re.IGNORECASE)


@dataclass
class Check:
    id: str
    status: str
    summary: str
    fix: str = ""


def _mask_one(value: str) -> str:
    return f"****{value[-4:]}" if len(value) > 8 else "****"


class Redactor:
    """Masks every known secret value (the settings' keys and secrets, the keys given on the command line)
    wherever it appears, and anything shaped like a Stripe or Clerk key."""

    def __init__(self, secrets=()):
        self.secrets: set[str] = set()
        for s in secrets:
            self.add(s)

    def add(self, value: str | None):
        if value and len(value) >= 6:
            self.secrets.add(value)

    def add_settings(self, values: dict[str, str]):
        for name, value in values.items():
            if _SECRET_NAME.search(name):
                self.add(value)

    def __call__(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, _mask_one(secret))
        return _SECRET_SHAPE.sub(lambda m: f"{m.group(1)}_{_mask_one(m.group(2))}"
                                 if not m.group(2).startswith("****") else m.group(0), text)


def masked_key(value: str | None) -> str:
    if not value:
        return "(not set)"
    m = re.match(r"^((?:sk|rk|pk)_(?:test|live)|whsec)_(.*)$", value)
    return f"{m.group(1)}_{_mask_one(m.group(2))}" if m else _mask_one(value)


def exit_code(checks: list[Check]) -> int:
    return 1 if any(c.status == FAIL for c in checks) else 0


def counts(checks: list[Check]) -> dict[str, int]:
    return {s: sum(c.status == s for c in checks) for s in (PASS, WARN, FAIL, SKIP)}


def render_json(checks: list[Check], redact: Redactor, **extra) -> str:
    doc = {**extra, "ok": exit_code(checks) == 0, "counts": counts(checks), "checks": [asdict(c) for c in checks]}
    return redact(json.dumps(doc, indent=2))


def render_table(checks: list[Check], redact: Redactor, title: str, notes: list[str] = ()) -> str:
    """The table as plain text (rich, no colour codes when not a terminal), already redacted."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    table = Table(title=escape(title))
    for name in ("check", "result", "what was found", "fix"):
        table.add_column(name, overflow="fold")
    for c in checks:
        table.add_row(escape(c.id), _MARK[c.status], escape(redact(c.summary)), escape(redact(c.fix or "")))
    buffer = io.StringIO()
    # a terminal's own width; 160 columns in a CI log or a file, where nothing wraps
    width = shutil.get_terminal_size((160, 24)).columns if sys.stdout.isatty() else 160
    console = Console(file=buffer, width=max(width, 80), force_terminal=False, color_system=None)
    console.print(table)
    for note in notes:
        console.print(escape(redact(note)))
    n = counts(checks)
    console.print(f"{n[PASS]} passed, {n[WARN]} warnings, {n[FAIL]} failed, {n[SKIP]} skipped")
    return redact(buffer.getvalue())
