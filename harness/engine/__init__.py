"""The scenario engine: billing stories in YAML (`scenarios/`), validated before anything runs, played
against a receiver on the simulators, each step's request, response and resulting state recorded."""

from .loader import ScenarioError, load_paths
from .model import Scenario
from .runner import RunResult, ScenarioResult, run_scenarios

__all__ = ["Scenario", "ScenarioError", "load_paths", "run_scenarios", "RunResult", "ScenarioResult"]
