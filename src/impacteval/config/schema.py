"""The config's JSON Schema and a Markdown reference, both generated from the models.

``python -m impacteval.config.schema`` prints the JSON Schema (docs/config.schema.json);
``python -m impacteval.config.schema --markdown`` prints docs/reference/config.md.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from impacteval.config.models import Config


def config_json_schema() -> dict[str, Any]:
    """JSON Schema of the YAML config, generated from the pydantic models."""
    return Config.model_json_schema()


def _default(field: Any) -> str:
    if field.is_required():
        return "required"
    value = field.default_factory() if field.default_factory is not None else field.default
    if isinstance(value, BaseModel):
        return "see section"
    if value is PydanticUndefined:
        return ""
    return json.dumps(value, default=str)


def _type_name(annotation: Any) -> str:
    text = repr(annotation) if not isinstance(annotation, type) else annotation.__name__
    for prefix in ("typing.", "pathlib.", "datetime.", "impacteval.config.models.",
                   "impacteval.config.extras."):
        text = text.replace(prefix, "")
    return text.replace("PosixPath", "Path").replace("|", "\\|")


def _section(model: type[BaseModel], path: str, lines: list[str], seen: set[str]) -> None:
    if path in seen:
        return
    seen.add(path)
    doc = (model.__doc__ or "").strip().splitlines()
    lines += [f"## `{path}`", ""]
    if doc:
        lines += [doc[0], ""]
    lines += ["| key | type | default | description |", "|---|---|---|---|"]
    nested: list[tuple[type[BaseModel], str]] = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        default = _default(field)
        desc = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{name}` | `{_type_name(ann)}` | `{default}` | {desc} |")
        for cand in (ann, *getattr(ann, "__args__", ())):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                nested.append((cand, f"{path}.{name}" if path else name))
    lines.append("")
    for sub, sub_path in nested:
        _section(sub, sub_path, lines, seen)


def config_markdown() -> str:
    """Markdown reference of every config section and key."""
    lines = ["# Config reference", "",
             "Generated from `impacteval.config.models` by `python -m impacteval.config.schema "
             "--markdown`; do not edit by hand. Unknown keys are errors.", ""]
    top: list[tuple[type[BaseModel], str]] = []
    for name, field in Config.model_fields.items():
        ann = field.annotation
        for cand in (ann, *getattr(ann, "__args__", ())):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                top.append((cand, name))
    lines += ["## top level", "", "| key | type | default |", "|---|---|---|"]
    for name, field in Config.model_fields.items():
        lines.append(f"| `{name}` | `{_type_name(field.annotation)}` | `{_default(field)}` |")
    lines.append("")
    seen: set[str] = set()
    for model, path in top:
        _section(model, path, lines, seen)
    return "\n".join(lines).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    if "--markdown" in sys.argv[1:]:
        sys.stdout.write(config_markdown())
    else:
        json.dump(config_json_schema(), sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
