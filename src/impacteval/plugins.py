"""Load users' own components (estimators, checks ...) named in the config's ``plugins:`` list.

A plugin is an ordinary Python module that registers components when imported, e.g.::

    # my_estimators.py (next to the config, or installed, or on PYTHONPATH)
    from dataclasses import dataclass
    from impacteval.estimators import register_estimator

    @register_estimator("my_ratio")
    @dataclass(frozen=True, kw_only=True)
    class MyRatio:
        design: str = "matched_cohort"
        def fit(self, data, *, outcome, treatment): ...

and the config names it (proposed shape; the pipeline wiring is the lead's)::

    plugins: [my_estimators]
    analysis:
      estimator: my_ratio

The runner calls :func:`load_plugins` before validating the rest of the config, so that the
names the plugins register are known to the registries.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from impacteval.exceptions import ConfigError

_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def load_plugins(names: Sequence[str], *, base_dir: str | Path | None = None) -> None:
    """Import each named module so that it registers its components.

    Parameters
    ----------
    names
        Dotted module names (``my_estimators``, ``team_pkg.estimators``), imported in order.
        A module already imported is not imported again (so it does not register twice).
    base_dir
        Folder searched first for the modules (the config file's folder), on ``sys.path``
        only while importing.

    Raises
    ------
    ConfigError
        ``where="plugins[i]"``: a name that is not a module name (e.g. a file path), a
        module that cannot be found, or one that fails while importing (the cause is
        chained).

    Examples
    --------
    >>> load_plugins(["json"])        # any importable module
    >>> load_plugins(["no_such_module_xyz"])
    Traceback (most recent call last):
    ...
    impacteval.exceptions.ConfigError: plugins[0]: cannot import plugin module 'no_such_module_xyz'
      how to fix: install the package that provides it, put the module next to the config file, or add its folder to PYTHONPATH
    """
    if isinstance(names, str):
        raise ConfigError("plugins must be a list of module names", where="plugins",
                          hint="write plugins: [my_module]")
    from impacteval.estimators.base import ESTIMATORS

    ESTIMATORS.names()  # load the built-ins first, so a clash is reported as the plugin's
    folder = str(Path(base_dir).resolve()) if base_dir is not None else None
    added = folder is not None and folder not in sys.path
    if added:
        sys.path.insert(0, folder)  # type: ignore[arg-type]
    try:
        for i, name in enumerate(names):
            where = f"plugins[{i}]"
            if (not isinstance(name, str) or not _MODULE_NAME.match(name)
                    or name.endswith(".py")):
                raise ConfigError(
                    "not a Python module name",
                    where=where,
                    hint="give the module's import name (my_estimators), not a file path "
                    "(my_estimators.py)",
                )
            try:
                importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name is not None and not name.startswith(exc.name):
                    raise ConfigError(
                        f"plugin module {name!r} imports {exc.name!r}, which is not installed",
                        where=where,
                        hint=f"install {exc.name!r} in the environment that runs impacteval",
                    ) from exc
                raise ConfigError(
                    f"cannot import plugin module {name!r}",
                    where=where,
                    hint="install the package that provides it, put the module next to the "
                    "config file, or add its folder to PYTHONPATH",
                ) from exc
            except ConfigError:
                raise
            except ValueError as exc:
                if "already registered" not in str(exc):
                    raise ConfigError(
                        f"plugin module {name!r} failed while importing (ValueError)",
                        where=where,
                    ) from exc
                raise ConfigError(
                    f"plugin module {name!r} registers a name that is already taken ({exc})",
                    where=where,
                    hint="choose another name in its register_estimator(...) call",
                ) from exc
            except Exception as exc:
                raise ConfigError(
                    f"plugin module {name!r} failed while importing ({type(exc).__name__})",
                    where=where,
                    hint="run `python -c 'import " + name + "'` to see the full error",
                ) from exc
    finally:
        if added:
            sys.path.remove(folder)  # type: ignore[arg-type]
