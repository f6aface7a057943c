"""The repro report for a terminal and as JSON. Personal data never shows: e-mail addresses and names in
the app's answers are masked, like secrets."""

from __future__ import annotations

import dataclasses
import json
import re

from rich.console import Console
from rich.table import Table

from ..signer import mask
from .run import ReproReport

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_NAME_FIELD = re.compile(r'("(?:name|first_name|last_name|customer_name|billing_name)"\s*:\s*")([^"]*)(")')


def private(text: str) -> str:
    """`text` with secrets, e-mail addresses and the values of name fields masked."""
    text = mask(text)
    text = _EMAIL.sub(lambda m: m.group(0)[0] + "***@***", text)
    return _NAME_FIELD.sub(lambda m: m.group(1) + "***" + m.group(3), text)


def print_report(report: ReproReport, console: Console):
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/] {private(warning)}", highlight=False)
    console.print(f"Replayed {report.deliveries} deliveries from {report.source} ({report.order} order) "
                  f"in {report.seconds:.1f}s", highlight=False)
    for user in report.users:
        colour = "green" if user.ok else "red"
        console.print(f"[{colour}]{'✔' if user.ok else '✘'}[/] {private(user.consequence())}", highlight=False)
        table = Table("#", "event", "answer", "app's tier", "Stripe says", show_edge=False)
        for obs in user.timeline:
            mark = " ←" if obs is user.first_bad else ""
            answer = f"{obs.status}" if obs.status is not None else "no answer"
            if obs.attempts > 1:
                answer += f" ({obs.attempts} tries)"
            table.add_row(str(obs.index) + (" (again)" if obs.copy else ""), obs.event, answer,
                          str(obs.app) + mark, str(obs.expected))
        console.print(table)
        if user.first_bad is not None and user.first_bad.answer:
            console.print(f"  the app's answer to delivery {user.first_bad.index}: "
                          f"{private(user.first_bad.answer)[:300]}", highlight=False)
    bad = sum(not u.ok for u in report.users)
    console.print(f"{len(report.users) - bad} users in sync, {bad} diverged")


def to_json(report: ReproReport) -> str:
    data = {
        "source": report.source, "order": report.order, "deliveries": report.deliveries, "ok": report.ok,
        "seconds": round(report.seconds, 3), "warnings": report.warnings,
        "users": [{**dataclasses.asdict(u), "ok": u.ok, "consequence": u.consequence()} for u in report.users],
        "answers": [{"event": s.delivery.event["id"], "type": s.delivery.event["type"], "copy": s.delivery.copy,
                     "status": s.status, "attempts": s.attempts, "ms": round(s.ms, 2), "error": s.error} for s in report.answers],
    }
    return private(json.dumps(data, indent=2))
