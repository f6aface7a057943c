"""The README's scenario-language reference is generated from the step models and must match them."""

from pathlib import Path

from tiersync.engine import language
from tiersync.engine.model import STEP_MODELS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_reference_matches_the_models():
    text = README.read_text(encoding="utf-8")
    assert language.BEGIN in text and language.END in text
    assert language.replace_in(text) == text, (
        "README's scenario language is out of date: run `python -m tiersync.engine.language --write`")


def test_every_step_kind_and_field_is_documented():
    rendered = language.render()
    for kind, model in STEP_MODELS.items():
        assert f"#### `{kind}`" in rendered
        for name in model.model_fields:
            assert f"| `{name}` |" in rendered, f"{kind}.{name} missing"
