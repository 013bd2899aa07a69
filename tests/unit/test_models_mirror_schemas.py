"""The generated models are exactly what the schemas generate: they cannot drift."""

from __future__ import annotations

from schemas import codegen
from schemas import models as m
from schemas.catalog import definitions


def test_models_file_is_current() -> None:
    assert codegen.MODELS_PATH.read_text() == codegen.render(), "run: python -m schemas.codegen"


def test_every_record_has_a_model_with_the_same_fields() -> None:
    for name, schema in definitions().items():
        if schema["type"] != "record":
            continue
        model = m.RECORD_TYPES[name]
        assert list(model.model_fields) == [f["name"] for f in schema["fields"]], name
        defaults = {f["name"] for f in schema["fields"] if "default" in f}
        optional = {n for n, f in model.model_fields.items() if not f.is_required()}
        assert optional == defaults, name
