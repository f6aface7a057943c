"""Load and validate scenario files. Every problem is reported with the file, the step, the field and,
where it helps, a suggestion ("unknown step 'dupliate', did you mean 'duplicate'?")."""

from __future__ import annotations

import difflib
import typing
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from ..profile import NEEDS
from .model import SCALAR_FIELD, STEP_MODELS, Scenario, Step

TOP_KEYS = ("name", "catches", "consequence", "severity", "needs", "group", "tags", "description", "steps", "targets")


class ScenarioError(Exception):
    """One or more problems in scenario files; `problems` lists them, one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _suggest(word: str, choices) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f", did you mean {close[0]!r}?" if close else ""


def _field_names(model) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def _model_at(model, loc) -> type[BaseModel] | None:
    """The model that holds the field at `loc` (nested checks such as `tier.is`), for suggestions."""
    for part in loc[:-1]:
        field = model.model_fields.get(part) or next((f for f in model.model_fields.values() if f.alias == part),
                                                     None)
        if field is None:
            return None
        inner = [a for a in (typing.get_args(field.annotation) or (field.annotation,))
                 if isinstance(a, type) and issubclass(a, BaseModel)]
        if not inner:
            return None
        model = inner[0]
    return model


def _field_errors(exc: ValidationError, model=None) -> list[str]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(arguments)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            holder = _model_at(model, err["loc"]) if model else None
            msg = "unknown field" + (_suggest(str(err["loc"][-1]), _field_names(holder)) if holder else "")
        out.append(f"field {loc!r}: {msg}")
    return out


def parse_step(raw, index: int, where: str) -> tuple[Step | None, list[str]]:
    label = f"{where}: step {index + 1}"
    if not isinstance(raw, dict) or len(raw) != 1:
        keys = list(raw) if isinstance(raw, dict) else []
        return None, [f"{label}: a step is a mapping with exactly one key (the step kind), got "
                      f"{keys or type(raw).__name__}"]
    kind, args = next(iter(raw.items()))
    if kind not in STEP_MODELS:
        hint = _suggest(str(kind), STEP_MODELS)
        return None, [f"{label}: unknown step {kind!r}{hint}"]
    if args is None:
        args = {}
    if not isinstance(args, dict):
        scalar = SCALAR_FIELD.get(kind)
        if scalar is None:
            return None, [f"{label} ({kind}): expected a mapping of arguments, got {args!r}"]
        args = {scalar: args}
    model = STEP_MODELS[kind]
    unknown = [k for k in args if k not in model.model_fields]
    if unknown:
        return None, [f"{label} ({kind}): unknown field {u!r}{_suggest(u, model.model_fields)}" for u in unknown]
    try:
        return Step(kind=kind, args=model(**args)), []
    except ValidationError as exc:
        return None, [f"{label} ({kind}): {e}" for e in _field_errors(exc, model)]


def parse_scenario(data, where: str) -> tuple[Scenario | None, list[str]]:
    if not isinstance(data, dict):
        return None, [f"{where}: a scenario file holds a mapping (name, catches, steps), got {type(data).__name__}"]
    problems = [f"{where}: unknown key {k!r}{_suggest(k, TOP_KEYS)}" for k in data if k not in TOP_KEYS]
    for key in ("name", "catches", "steps"):
        if key not in data:
            problems.append(f"{where}: missing {key!r}" + (" (one line: which real bug this scenario catches)"
                                                            if key == "catches" else ""))
    steps_raw = data.get("steps") or []
    if not isinstance(steps_raw, list):
        problems.append(f"{where}: 'steps' must be a list")
        steps_raw = []
    steps = []
    for i, raw in enumerate(steps_raw):
        step, errs = parse_step(raw, i, where)
        problems += errs
        if step:
            steps.append(step)
    if "steps" in data and not steps_raw:
        problems.append(f"{where}: 'steps' is empty")
    needs = data.get("needs") or []
    for need in needs if isinstance(needs, list) else []:
        if need not in NEEDS:
            problems.append(f"{where}: needs: unknown need {need!r}{_suggest(str(need), NEEDS)} "
                            f"(one of {', '.join(NEEDS)})")
    if problems:
        return None, problems
    try:
        return Scenario(**{k: v for k, v in data.items() if k != "steps"}, steps=steps, path=where), []
    except ValidationError as exc:
        return None, [f"{where}: {e}" for e in _field_errors(exc)]


def load_file(path: Path) -> tuple[list[Scenario], list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return [], [f"{path}: cannot read ({exc.strerror})"]
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark else ""
        return [], [f"{path}:{at} not valid YAML: {getattr(exc, 'problem', exc)}"]
    scenarios, problems = [], []
    for i, doc in enumerate(docs):
        where = str(path) if len(docs) == 1 else f"{path} (document {i + 1})"
        scenario, errs = parse_scenario(doc, where)
        problems += errs
        if scenario:
            scenarios.append(scenario)
    return scenarios, problems


def load_paths(paths: list[str | Path]) -> list[Scenario]:
    """Every scenario under the given files and folders (*.yaml, *.yml), or ScenarioError listing all problems."""
    files: list[Path] = []
    problems: list[str] = []
    for p in map(Path, paths):
        if p.is_dir():
            files += sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml"))
        elif p.exists():
            files.append(p)
        else:
            problems.append(f"{p}: no such file or folder")
    scenarios = []
    for f in files:
        found, errs = load_file(f)
        scenarios += found
        problems += errs
    names: dict[str, str] = {}
    for s in scenarios:
        if s.name in names:
            problems.append(f"{s.path}: scenario name {s.name!r} is also used in {names[s.name]}")
        names[s.name] = s.path
    if problems:
        raise ScenarioError(problems)
    return scenarios
