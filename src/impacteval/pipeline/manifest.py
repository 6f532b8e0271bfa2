"""Provenance for a run: what went in, with which code, seed and engine, and how long it took."""

from __future__ import annotations

import glob
import hashlib
import json
import platform
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = ("impacteval", "numpy", "pandas", "scipy", "statsmodels", "scikit-learn",
            "linearmodels", "pyarrow", "duckdb", "ibis-framework", "pydantic", "matplotlib")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def _describe_input(source: Any) -> dict[str, Any]:
    """A file's name and hash; for a folder or glob of Parquet files, their names and one hash
    over the files' hashes in name order; for a catalog table, its name."""
    if not isinstance(source, Path):
        return {"table": str(getattr(source, "table", source))}
    if source.is_file():
        return {"file": source.name, "sha256": sha256_file(source)}
    files = (sorted(source.glob("*.parquet")) if source.is_dir()
             else sorted(Path(p) for p in glob.glob(str(source))))
    combined = hashlib.sha256("".join(sha256_file(f) for f in files).encode()).hexdigest()
    return {"files": source.name, "n_files": len(files), "sha256": combined}


def config_hash(config: Mapping[str, Any]) -> str:
    canonical = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def package_versions(names: Iterable[str] = PACKAGES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    out["python"] = platform.python_version()
    return out


def build_manifest(
    *,
    config: Mapping[str, Any],
    inputs: Mapping[str, Path],
    seed: int,
    engine: str,
    timings: Mapping[str, float],
) -> dict[str, Any]:
    """Manifest of a run (it holds timings, so unlike results.json it differs run to run)."""
    return {
        "config_sha256": config_hash(config),
        "inputs": {name: _describe_input(source) for name, source in sorted(inputs.items())},
        "seed": seed,
        "engine": engine,
        "versions": package_versions(),
        "timings_seconds": {k: round(v, 3) for k, v in timings.items()},
    }
