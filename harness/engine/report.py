"""Run reports: the live terminal view (rich), JSON, JUnit XML and one self-contained HTML file.
Everything shown has secrets masked (`sk_`, `rk_`, `whsec_` values)."""

from __future__ import annotations

import dataclasses
import html
import json
import time
import xml.etree.ElementTree as ET
from collections import Counter

from rich.console import Console
from rich.table import Table

from ..signer import mask
from .runner import RunResult, ScenarioResult


def to_dict(run: RunResult) -> dict:
    return {
        "target": run.target, "seconds": round(run.seconds, 3), "passed": run.passed, "failed": run.failed,
        "advice": run.advised, "skipped": run.skipped,
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "scenarios": [{**{k: v for k, v in dataclasses.asdict(r).items() if k != "timeline"},
                       "status": r.status, "steps": [dataclasses.asdict(s) for s in r.timeline]}
                      for r in run.results],
    }


def to_json(run: RunResult) -> str:
    return mask(json.dumps(to_dict(run), indent=2, default=str))


def to_junit(run: RunResult) -> str:
    suite = ET.Element("testsuite", name="tiersync", tests=str(len(run.results)), failures=str(run.failed),
                       errors="0", time=f"{run.seconds:.3f}")
    for r in run.results:
        case = ET.SubElement(suite, "testcase", classname=f"tiersync.{r.group}", name=r.name, time=f"{r.seconds:.3f}")
        if r.skipped:
            ET.SubElement(case, "skipped", message=r.message)
        elif r.advice:  # not a failure: hardening advice, shown beside the case
            ET.SubElement(case, "system-err").text = mask(r.message[:500])
        elif not r.passed:
            failure = ET.SubElement(case, "failure", message=mask(r.message[:500]))
            failure.text = mask("\n".join(f"{s.index}. {'ok ' if s.ok else 'FAIL'} {s.summary}"
                                          + (f"\n   {s.message}" if s.message else "") for s in r.timeline))
        ET.SubElement(case, "system-out").text = f"catches: {r.catches}"
    return ET.tostring(suite, encoding="unicode", xml_declaration=True)


def _counts(run: RunResult) -> str:
    return (f"{run.passed} passed, {run.failed} failed" + (f", {run.advised} advice" if run.advised else "")
            + (f", {run.skipped} skipped" if run.skipped else ""))


# ---- HTML -------------------------------------------------------------------------------------------------
_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d1d1f}
h1{font-size:20px} .pass{color:#137333} .fail{color:#c5221f} .skip{color:#666} .advice{color:#a15c00}
table.summary td,table.summary th{padding:4px 10px;text-align:left;border-bottom:1px solid #eee}
details{border:1px solid #ddd;border-radius:8px;margin:8px 0;padding:6px 12px}
summary{cursor:pointer;font-weight:600} .catches{color:#555;font-style:italic;margin:4px 0 8px}
.step{border-left:3px solid #137333;padding:2px 10px;margin:8px 0}.step.bad{border-color:#c5221f}
pre{background:#f6f8fa;padding:8px;border-radius:6px;overflow:auto;max-height:320px;font-size:12px}
.k{color:#666;font-size:12px}
"""


def _pre(text) -> str:
    return f"<pre>{html.escape(str(text))}</pre>"


def _step_html(step) -> str:
    parts = [f'<div class="step{"" if step.ok else " bad"}"><b>{step.index}. {html.escape(step.kind)}</b> '
             f'<span class="k">{step.ms:.0f} ms</span><div>{html.escape(step.summary)}</div>']
    if step.message:
        parts.append(f'<div class="fail">{html.escape(step.message)}</div>')
    for ex in step.exchanges:
        parts.append(f"<details><summary>{html.escape(ex.method)} {html.escape(ex.url)} → {ex.status} "
                     f'<span class="k">{ex.ms:.0f} ms</span></summary>'
                     + (f'<div class="k">request headers</div>{_pre(json.dumps(ex.headers, indent=1))}'
                        if ex.headers else "")
                     + f'<div class="k">request body</div>{_pre(ex.request_body)}'
                     f'<div class="k">response</div>{_pre(ex.response_body)}</details>')
    if step.deliveries:
        rows = "".join(f"<tr><td>{html.escape(str(d.get('type')))}</td><td>{d.get('attempt')}</td>"
                       f"<td>{html.escape(str(d.get('status')))}</td><td>{html.escape(str(d.get('outcome')))}</td>"
                       f"<td>{d.get('latency_ms') or ''}</td><td>{html.escape(', '.join(d.get('faults') or []))}</td>"
                       f"<td>{html.escape((d.get('response_body') or d.get('error') or '')[:120])}</td></tr>"
                       + (f"<tr><td></td><td colspan='6'>{_pre(chr(10).join(d['console']))}</td></tr>"
                          if d.get("console") else "")  # the Worker's console output for this try
                       for d in step.deliveries)
        parts.append("<details><summary>webhook deliveries "
                     f"({len(step.deliveries)})</summary><table class='summary'><tr><th>event</th><th>try</th>"
                     "<th>status</th><th>outcome</th><th>ms</th><th>faults</th><th>answer</th></tr>"
                     f"{rows}</table></details>")
    if step.state:
        parts.append(f"<details><summary>state after</summary>{_pre(json.dumps(step.state, indent=2))}</details>")
    parts.append("</div>")
    return "".join(parts)


def _scenario_html(r: ScenarioResult) -> str:
    cls = "skip" if r.skipped else "advice" if r.advice else "pass" if r.passed else "fail"
    mark = {"pass": "✔", "fail": "✘", "skip": "–", "advice": "!"}[cls]
    return (f'<details id="{html.escape(r.name)}"{" open" if not r.passed else ""}><summary class="{cls}">{mark} '
            f"{html.escape(r.name)} <span class='k'>{html.escape(r.group)} · {r.seconds:.2f} s</span></summary>"
            f'<div class="catches">catches: {html.escape(r.catches)}</div>'
            + (f'<div class="{"fail" if cls == "fail" else cls}">{html.escape(r.message)}</div>' if r.message else "")
            + "".join(_step_html(s) for s in r.timeline) + "</details>")


def to_html(run: RunResult) -> str:
    groups = Counter(r.group for r in run.results)
    failed = Counter(r.group for r in run.results if not r.passed and not r.advice and not r.skipped)
    rows = "".join(f"<tr><td>{html.escape(g)}</td><td>{n}</td><td class='{'fail' if failed[g] else 'pass'}'>"
                   f"{failed[g]}</td></tr>" for g, n in sorted(groups.items()))
    verdict = "pass" if run.ok else "fail"
    doc = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>tiersync report</title>
<style>{_CSS}</style></head><body>
<h1>tiersync run against the {html.escape(run.target)} target:
<span class="{verdict}">{_counts(run)}</span> in {run.seconds:.1f} s</h1>
<table class="summary"><tr><th>group</th><th>scenarios</th><th>failed</th></tr>{rows}</table>
{"".join(_scenario_html(r) for r in run.results)}
</body></html>"""
    return mask(doc)


# ---- terminal ----------------------------------------------------------------------------------------------
class TerminalView:
    """One line per scenario as it finishes, then a summary table by group."""

    def __init__(self, console: Console | None = None, total: int = 0):
        self.console = console or Console()
        self.total = total
        self.done = 0

    def on_result(self, r: ScenarioResult):
        self.done += 1
        if r.skipped:
            mark = "[dim]–[/]"
        elif r.advice:
            mark = "[yellow]![/]"
        else:
            mark = "[green]✔[/]" if r.passed else "[red]✘[/]"
        self.console.print(f"{mark} [{self.done}/{self.total}] {r.name} [dim]({r.group}, {r.seconds:.2f}s)[/]")
        # messages quote the app's answers and profile keys ("[features] trials"): printed as text, not markup
        if r.skipped:
            self.console.print(f"    {r.message}", style="dim", highlight=False, markup=False)
        elif not r.passed:
            self.console.print(f"    {mask(r.message)}", style="yellow" if r.advice else "red", highlight=False,
                               markup=False)
            self.console.print(f"    catches: {r.catches}", style="dim", highlight=False, markup=False)

    def summary(self, run: RunResult):
        table = Table("group", "scenarios", "passed", "failed", "advice", "skipped", title="tiersync summary")
        groups = sorted({r.group for r in run.results})
        for g in groups:
            rs = [r for r in run.results if r.group == g]
            bad = sum(r.status == "failed" for r in rs)
            table.add_row(g, str(len(rs)), str(sum(r.status == "passed" for r in rs)), f"[red]{bad}[/]" if bad else "0",
                          str(sum(r.advice for r in rs)), str(sum(r.skipped for r in rs)))
        self.console.print(table)
        self.console.print(_counts(run))
        self.console.print(f"[dim]{len(run.results)} scenarios against the {run.target} target in {run.seconds:.1f}s[/]")
