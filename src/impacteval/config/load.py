"""Read a YAML config into a frozen :class:`Config`, with errors that name the location."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from impacteval.config.models import Config
from impacteval.exceptions import ConfigError
from impacteval.registry import suggest


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """Field names of the (nested) model at ``loc`` (for 'did you mean')."""
    current: Any = model
    for part in loc[:-1]:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        ann = field.annotation
        current = None
        for cand in (ann, *getattr(ann, "__args__", ())):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                current = cand
                break
    return sorted(getattr(current, "model_fields", {})) if current is not None else []


def _format(err: ValidationError, source: str) -> ConfigError:
    first = err.errors()[0]
    if first["type"] == "nested_config":  # an alternative or triangulation config, located
        ctx = first.get("ctx") or {}
        return ConfigError(str(ctx.get("message")), where=f"{source}: {ctx.get('where')}",
                           hint=str(ctx.get("hint")) or None)
    loc = tuple(first["loc"])
    where = ".".join(str(p) for p in loc) or "(top level)"
    hint = None
    if first["type"] == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(Config, loc)
        close = suggest(key, allowed)
        msg = f"unknown key {key!r}"
        hint = f"did you mean {close!r}?" if close else f"valid keys here: {', '.join(allowed)}"
    elif first["type"] == "missing":
        msg = "required key is missing"
        hint = "add it to the config (see docs/reference/config.md)"
    else:
        msg = first["msg"].removeprefix("Value error, ")
        if first["type"] == "literal_error":
            hint = "use one of the listed values"
    more = len(err.errors()) - 1
    if more:
        msg += f" (and {more} more problem{'s' if more > 1 else ''})"
    return ConfigError(msg, where=f"{source}: {where}", hint=hint)


def _resolve_paths(cfg: Config, base: Path) -> Config:
    """Make data paths absolute relative to the config file's folder."""

    def fix(p: Any) -> Any:
        if not isinstance(p, Path) or p.is_absolute():  # None or a catalog table
            return p
        return base / p

    data_updates = {
        name: fix(getattr(cfg.data, name))
        for name in ("persons", "apc_episodes", "ae_attendances", "op_appointments", "deaths", "settings", "table",
                     "temp_directory")
        if getattr(cfg.data, name) is not None
    }
    updates: dict[str, Any] = {"data": cfg.data.model_copy(update=data_updates)}
    if cfg.cohort is not None and cfg.cohort.treated_settings_file is not None:
        updates["cohort"] = cfg.cohort.model_copy(
            update={"treated_settings_file": fix(cfg.cohort.treated_settings_file)}
        )
    resolved = cfg.model_copy(update=updates)
    resolved._source_dir = base
    return resolved


def parse_config(raw: Any, *, source: str = "config", base_dir: Path | None = None) -> Config:
    """Validate an already-parsed mapping (e.g. from a notebook)."""
    if not isinstance(raw, dict):
        raise ConfigError("the config must be a mapping of sections", where=source)
    plugins = raw.get("plugins", [])
    if plugins:
        if not isinstance(plugins, list) or not all(isinstance(p, str) for p in plugins):
            raise ConfigError("must be a list of module names", where=f"{source}: plugins")
        from impacteval.plugins import load_plugins

        load_plugins(plugins, base_dir=base_dir)
    try:
        cfg = Config.model_validate(raw)
    except ValidationError as exc:
        raise _format(exc, source) from None
    return _resolve_paths(cfg, base_dir or Path.cwd())


def load_config(path: str | Path) -> Config:
    """Load and validate a YAML config file.

    Raises
    ------
    ConfigError
        If the file is missing, is not YAML, or breaks the schema.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError("config file not found", where=str(path), hint="check the path")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError("not valid YAML", where=where, hint="check indentation and quoting") from None
    return parse_config(raw, source=str(path), base_dir=path.resolve().parent)
