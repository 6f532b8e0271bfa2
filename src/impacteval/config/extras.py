"""Config sections for the analyses run beside the main one (issue 8).

- ``subgroups``: effects by IMD quintile, age band, sex, ethnicity (or any column), each level
  analysed by re-running the design on its subset;
- ``negative_controls``: outcomes (and, for a matched cohort on an analysis-ready table,
  exposures) on which no effect is expected, estimated the same way as the main outcomes;
- ``alternative_specifications``: named overrides of config sections (``matching``,
  ``analysis``, a design section ...), each validated as a full config and run;
- ``triangulation``: further designs (a design name plus its section) on the same data.

The models are here; :func:`check_extras` is called by :class:`~impacteval.config.Config`'s
validator, and :func:`derived_config` builds the config of an alternative or a triangulation
design (also used by :mod:`impacteval.pipeline.extras` at run time).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from impacteval.config.models import Config

__all__ = ["AlternativeSpec", "NegativeControlsSpec", "SubgroupSpec", "TriangulationSpec",
           "BUILTIN_SUBGROUPS", "EXTRA_SECTIONS", "check_extras", "derived_config"]

#: Groupings the care-home cohort can form from its covariates (a column of the same name in
#: the analysis table wins): name -> (readable label, default gap levels).
BUILTIN_SUBGROUPS: dict[str, tuple[str, tuple[str, str] | None]] = {
    "imd_quintile": ("IMD quintile (1 = most deprived)", ("1", "5")),
    "age_band": ("age band", None),
    "sex": ("sex", None),
    "ethnicity": ("ethnicity", None),
}

#: Top-level sections of the extras themselves (never inherited by a derived config).
EXTRA_SECTIONS = ("subgroups", "negative_controls", "alternative_specifications",
                  "triangulation")

#: Sections an alternative specification may not change: the data, the cohort and the question
#: stay fixed (an alternative changes how the design and analysis are done).
_FIXED_FOR_ALTERNATIVES = ("plugins", "evaluation", "data", "cohort", "outcomes", "sdc",
                           *EXTRA_SECTIONS)
#: Sections a triangulation design may not change (it may change the cohort, or remove it with
#: ``cohort: null``, because another design builds its own analysis table from the same data).
_FIXED_FOR_TRIANGULATION = ("plugins", "evaluation", "data", "outcomes", "sdc", *EXTRA_SECTIONS)
#: Entry sections kept when the design changes; other optional sections belong to the design.
_ENTRY_SECTIONS = ("cohort", "roles")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SubgroupSpec(_Model):
    """One subgroup variable: a built-in grouping or a column of the analysis table."""

    variable: str = Field(
        description="imd_quintile, age_band, sex or ethnicity (built from the care-home "
        "cohort's covariates), or a column of the analysis table.")
    column: str | None = Field(
        None, description="Column to group on, if not the one named by 'variable'.")
    label: str | None = Field(None, description="Readable name in the report.")
    bins: list[float] | None = Field(
        None, min_length=1, description="Cut points of a numeric column: [75, 85] gives "
        "'under 75', '75 to under 85', '85 and over' (age_band default: [75, 85]).")
    gap_levels: tuple[str, str] | None = Field(
        None, description="[disadvantaged, advantaged] levels for the statement whether the gap "
        "narrowed, held or widened (imd_quintile default: ['1', '5']).")
    outcomes: list[str] | None = Field(
        None, description="Outcomes analysed by subgroup (default: the first outcome).")
    min_per_arm: int = Field(
        10, ge=2, description="Levels with fewer people than this in either arm are counted "
        "but not estimated.")

    @field_validator("bins")
    @classmethod
    def _increasing(cls, v: list[float] | None) -> list[float] | None:
        if v is not None and any(b >= a for a, b in zip(v[1:], v[:-1], strict=True)):
            raise ValueError("bins must increase")
        return v


class NegativeControlsSpec(_Model):
    """Negative controls: where the design should find no effect."""

    outcomes: list[str] = Field(
        default_factory=list, description="Outcomes the intervention cannot plausibly change "
        "(e.g. elective_admissions, op_attendances); estimated as the main outcomes are.")
    exposures: list[str] = Field(
        default_factory=list, description="0/1 columns of an analysis-ready table (matched "
        "cohort) that share the confounding of the treatment but cannot cause the outcomes; "
        "each replaces the treatment in a re-run on the first outcome.")


class AlternativeSpec(BaseModel):
    """A named alternative specification: ``name`` plus the sections it overrides (e.g.
    ``matching: {caliper: 0.1}``, ``analysis: {family: negative_binomial}``)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    name: str = Field(min_length=1, description="Label in the report, e.g. 'caliper 0.1'.")


class TriangulationSpec(BaseModel):
    """A further design on the same data: ``design`` plus its section (e.g.
    ``rdd: {...}``), and any other section it needs (``cohort: null`` removes the cohort)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    design: str = Field(description="A registered design (evaluation.design values).")


def overrides(spec: BaseModel) -> dict[str, Any]:
    """The sections an alternative or a triangulation entry sets (its extra keys)."""
    return dict(spec.model_extra or {})


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _design_sections(cfg: Config) -> list[str]:
    """Optional sections of Config other than the entry sections: they belong to a design."""
    names = []
    for name, field in type(cfg).model_fields.items():
        if name in _ENTRY_SECTIONS or name in EXTRA_SECTIONS or field.is_required():
            continue
        if field.default is None and any(isinstance(a, type) and issubclass(a, BaseModel)
                                         for a in get_args(field.annotation)):
            names.append(name)
    return names


def derived_config(cfg: Config, update: Mapping[str, Any], *, design: str | None = None,
                   where: str) -> Config:
    """The config of an alternative specification or a triangulation design.

    Starts from what ``cfg`` sets (defaults stay defaults), drops the extras sections and,
    when ``design`` is given, the other design sections; merges ``update`` section by section
    (``None`` removes a section) and validates the result as a full config.

    Raises
    ------
    pydantic_core.PydanticCustomError
        ``nested_config`` with ``where`` (e.g. ``alternative_specifications[1].matching.caliper``),
        the message and a hint; :func:`impacteval.config.load_config` turns it into a
        ConfigError naming that location.
    """
    from impacteval.config.models import Config

    base = cfg.model_dump(exclude_unset=True, exclude=set(EXTRA_SECTIONS))
    if design is not None:
        for name in _design_sections(cfg):
            base.pop(name, None)
        base["evaluation"] = {**base.get("evaluation", {}), "design": design}
    merged = _merge(base, update)
    try:
        derived = Config.model_validate(merged)
    except ValidationError as exc:
        raise _nested_error(exc, where, design is not None) from None
    if cfg.source_dir is not None:  # paths the entry adds are relative to the config file
        from impacteval.config.load import _resolve_paths

        return _resolve_paths(derived, cfg.source_dir)
    return derived


def _nested_error(exc: ValidationError, where: str, design: bool) -> PydanticCustomError:
    from impacteval.config.load import _format

    first = exc.errors()[0]
    if first["type"] == "nested_config":  # already located
        return PydanticCustomError("nested_config", "{message}", dict(first.get("ctx") or {}))
    loc = [str(p) for p in first["loc"]]
    if design and loc[:2] == ["evaluation", "design"]:
        loc = ["design"]
    text = "".join(f"[{p}]" if p.isdigit() else f".{p}" for p in loc)
    err = _format(exc, "x")
    return _located(f"{where}{text}", err.message, err.hint or "")


def _located(where: str, message: str, hint: str) -> PydanticCustomError:
    """An error that :func:`impacteval.config.load_config` reports at ``where``."""
    return PydanticCustomError("nested_config", "{message}",
                               {"where": where, "message": message, "hint": hint})


def check_extras(cfg: Config) -> None:
    """Cross-checks of the extras sections against the rest of the config.

    Raises a ``nested_config`` error naming the location (see :func:`derived_config`).
    """
    from impacteval.config.models import OutcomeName

    primary = list(cfg.roles.outcomes) if cfg.data.analysis_ready and cfg.roles else list(
        cfg.outcomes)
    episode = not cfg.data.analysis_ready
    nc = cfg.negative_controls
    if nc is not None:
        if not nc.outcomes and not nc.exposures:
            raise _located("negative_controls", "lists no outcome and no exposure",
                           "add negative_controls.outcomes (or exposures), or remove the section")
        both = [o for o in nc.outcomes if o in primary]
        if both:
            raise _located("negative_controls.outcomes", f"{both[0]!r} is a main outcome",
                           "a negative control is an outcome the intervention cannot change: "
                           "remove it from the main outcomes or from the negative controls")
        known = get_args(OutcomeName)
        unknown = [o for o in nc.outcomes if episode and o not in known]
        if unknown:
            raise _located("negative_controls.outcomes", f"unknown outcome {unknown[0]!r}",
                           f"choose from {', '.join(known)}")
        if nc.exposures:
            if episode or cfg.evaluation.design != "matched_cohort":
                raise _located("negative_controls.exposures", "negative-control exposures "
                               "need a matched cohort on an analysis-ready data.table",
                               "remove them, or use negative_controls.outcomes")
            if cfg.roles is not None and cfg.roles.treatment in nc.exposures:
                raise _located("negative_controls.exposures", "the treatment itself is "
                               "not a negative control", "name another 0/1 column")
    seen: set[str] = set()
    for i, sg in enumerate(cfg.subgroups):
        if sg.variable in seen:
            raise _located(f"subgroups[{i}].variable", f"{sg.variable!r} is listed twice",
                           "list each subgroup variable once")
        seen.add(sg.variable)
        bad = [o for o in sg.outcomes or [] if o not in primary]
        if bad:
            raise _located(f"subgroups[{i}].outcomes", f"{bad[0]!r} is not a main outcome",
                           f"choose from {', '.join(primary)}")
    names: set[str] = set()
    for i, alt in enumerate(cfg.alternative_specifications):
        where = f"alternative_specifications[{i}]"
        if alt.name in names:
            raise _located(f"{where}.name", f"{alt.name!r} is used twice",
                           "give each alternative its own name")
        names.add(alt.name)
        update = overrides(alt)
        if not update:
            raise _located(where, "changes nothing",
                           "give the sections it changes, e.g. matching: {caliper: 0.1}")
        fixed = [k for k in update if k in _FIXED_FOR_ALTERNATIVES]
        if fixed:
            raise _located(f"{where}.{fixed[0]}", "an alternative specification cannot "
                           "change this section", "alternatives change the design and analysis "
                           "(matching, analysis, a design section); use a separate config for "
                           "other data, cohort or outcomes")
        derived_config(cfg, update, where=where)
    designs: set[str] = {cfg.evaluation.design}
    for i, tri in enumerate(cfg.triangulation):
        where = f"triangulation[{i}]"
        if tri.design in designs:
            raise _located(f"{where}.design", f"design {tri.design!r} is already run",
                           "triangulation adds other designs; vary one design under "
                           "alternative_specifications")
        designs.add(tri.design)
        update = overrides(tri)
        fixed = [k for k in update if k in _FIXED_FOR_TRIANGULATION]
        if fixed:
            raise _located(f"{where}.{fixed[0]}", "a triangulation design cannot change "
                           "this section", "triangulation runs other designs on the same data "
                           "and outcomes")
        derived_config(cfg, update, design=tri.design, where=where)
