"""The resource modules form a layered graph: shared billing arithmetic and cross-resource rules live in
modules every resource can import (billing_math, catalog, invoicing), so no module imports another
inside a function to dodge a circle (issue #15 item 8)."""

from __future__ import annotations

import ast
from pathlib import Path

import tiersync.stripe_sim.resources as resources_pkg

RESOURCES = Path(resources_pkg.__file__).parent


def _modules() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text(), str(p)) for p in sorted(RESOURCES.glob("*.py"))}


def _sibling_imports(tree: ast.Module) -> set[str]:
    """The sibling resource modules a module imports at its top level."""
    out = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                out.add(node.module.split(".")[0])
            else:
                out.update(alias.name for alias in node.names)
    return out


def test_no_import_inside_functions():
    found = []
    for name, tree in _modules().items():
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found += [f"{name}.py:{n.lineno} in {fn.name}()" for n in ast.walk(fn)
                          if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert found == []


def test_resource_modules_import_each_other_without_a_cycle():
    graph = {name: _sibling_imports(tree) - {name} for name, tree in _modules().items() if name != "__init__"}
    assert graph["subscriptions"] >= {"invoicing", "billing_math"}  # the graph is really read
    state: dict[str, str] = {}
    cycles = []

    def visit(node: str, path: list[str]):
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_shared_billing_modules_import_no_route_module():
    """billing_math is pure; catalog and invoicing import no resource that imports them back."""
    mods = _modules()
    assert _sibling_imports(mods["billing_math"]) == set()
    assert _sibling_imports(mods["catalog"]) <= {"billing_math"}
    # disputes: a paid invoice's charge is disputed when its test card says so; it imports only billing_math
    # sepa_debit: an invoice paid by a bank debit stays open until it settles; it imports no sibling
    # charges: the charge of a payment attempt (PaymentIntents, invoices, Checkout), no routes, imports nothing
    # bank_transfers / cash_balance: an invoice paid by bank transfer waits for the customer's money
    assert _sibling_imports(mods["invoicing"]) <= {"bank_transfers", "billing_math", "cash_balance", "charges",
                                                   "customer_balance", "disputes", "payment_methods", "sepa_debit"}
    assert _sibling_imports(mods["bank_transfers"]) == {"cash_balance"}
    assert _sibling_imports(mods["cash_balance"]) == set()
    assert _sibling_imports(mods["charges"]) == set()
    assert _sibling_imports(mods["disputes"]) <= {"billing_math"}
    assert _sibling_imports(mods["sepa_debit"]) == set()
    assert _sibling_imports(mods["customer_balance"]) == set()
