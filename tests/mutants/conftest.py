"""Print the mutation score (mutants caught / mutants) after a run of test_mutants.py, xdist or not."""

from __future__ import annotations


def pytest_terminal_summary(terminalreporter):
    rows = []
    for status in ("passed", "failed"):
        for report in terminalreporter.stats.get(status, []):
            props = dict(getattr(report, "user_properties", []) or [])
            if getattr(report, "when", None) == "call" and "mutant" in props:
                rows.append(props)
    if not rows:
        return
    caught = sum(1 for r in rows if r["caught"])
    terminalreporter.write_sep("-", f"mutation score: {caught}/{len(rows)} mutants caught")
    for r in sorted(rows, key=lambda r: r["mutant"]):
        mark = "caught" if r["caught"] else "MISSED"
        terminalreporter.write_line(f"  {mark:6} {r['mutant']:28} failing: {', '.join(r['failed']) or '-'}")
