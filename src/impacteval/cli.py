"""Command line: thin wrapper that parses arguments, calls the pipeline, maps errors to exit codes.

Exit codes: 0 success; 2 user error (bad config or data, unidentifiable design, unsafe
outputs); 1 internal error. User errors print one message, never a traceback or row values.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from impacteval import __version__
from impacteval.exceptions import ImpactEvalError


def _cmd_run(args: argparse.Namespace) -> int:
    from impacteval.pipeline import run

    outcome = run(args.config, progress=not args.quiet)
    print(f"report: {outcome.out_dir / 'report.html'}")
    print(f"results: {outcome.out_dir / 'results.json'}")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from impacteval.pipeline import validate

    summary = validate(args.config)
    print(f"ok: config and inputs are valid ({summary['entry'].replace('_', ' ')})")
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from impacteval.data.synth import generate

    if args.persons < 1000:
        raise ImpactEvalError("must be at least 1000", where="--persons",
                              hint="small worlds have no care-home residents to evaluate")
    truth = generate(args.persons, args.seed, Path(args.out), rate_ratio=args.rate_ratio,
                     progress=not args.quiet, chunk_persons=args.chunk_persons)
    print(f"wrote synthetic extract to {args.out} (true rate ratio {truth['outcomes']['emergency_admissions']['value']} "
          "on emergency admissions; see truth.json)")
    return 0


def _cmd_check_outputs(args: argparse.Namespace) -> int:
    from impacteval.report import check_outputs

    folder = Path(args.folder)
    if not folder.is_dir():
        raise ImpactEvalError("folder not found", where=str(folder))
    problems = check_outputs(folder)
    if problems:
        print(f"{len(problems)} disclosure problem(s) in {folder}:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 2
    print(f"ok: every released count in {folder} passes disclosure control")
    return 0


def _cmd_export_release(args: argparse.Namespace) -> int:
    from impacteval.report import check_outputs, export_release

    src, dst = Path(args.outputs), Path(args.release)
    if not (src / "results.json").is_file():
        raise ImpactEvalError("not an outputs folder (no results.json)", where=str(src),
                              hint="pass the outputs/<id> folder of a finished run")
    if dst.exists():
        raise ImpactEvalError("already exists", where=str(dst),
                              hint="choose a new folder: a release is never overwritten")
    export_release(src, dst)
    problems = check_outputs(dst)
    if problems:
        import shutil

        shutil.rmtree(dst)
        print(f"{len(problems)} disclosure problem(s); nothing exported:", file=sys.stderr)
        for p in problems:
            print(f"  - {p}", file=sys.stderr)
        return 2
    print(f"exported {dst} (row-level private/ left out; every count checked)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="impacteval",
        description="Evaluate a health or care intervention from routine NHS data.",
    )
    parser.add_argument("--version", action="version", version=f"impacteval {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="run an evaluation and write its report",
                       description="Run every stage of the evaluation described by CONFIG and write "
                                   "outputs/<id>/ (report.html, results.json, tables, figures, manifest).")
    p.add_argument("config", help="path of the YAML config")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("validate", help="check a config and its inputs without running",
                       description="Check CONFIG and the input tables against the data contract; "
                                   "runs no analysis and writes nothing.")
    p.add_argument("config", help="path of the YAML config")
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser("synth-data", help="generate a synthetic HES-like extract with a known effect",
                       description="Write persons, apc_episodes, ae_attendances, op_appointments, deaths "
                                   "and settings as Parquet, plus truth.json with the true effects.")
    p.add_argument("--persons", type=int, required=True, help="number of persons in the population")
    p.add_argument("--seed", type=int, default=2017, help="random seed (default 2017)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--rate-ratio", type=float, default=0.75,
                   help="true effect on emergency admissions and A&E attendances (default 0.75)")
    p.add_argument("--chunk-persons", type=int, default=None,
                   help="write in chunks of this many persons (one Parquet file per chunk in a "
                        "folder per table), so large extracts need the memory of one chunk only")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    p.set_defaults(func=_cmd_synth)

    p = sub.add_parser("check-outputs", help="scan a release folder for unsafe counts",
                       description="Fail (exit 2) if any released count in FOLDER breaks disclosure control.")
    p.add_argument("folder", help="a release folder (see export-release)")
    p.set_defaults(func=_cmd_check_outputs)

    p = sub.add_parser("export-release", help="copy a run's outputs for release, without private/",
                       description="Copy OUTPUTS (an outputs/<id> folder) to RELEASE leaving out the "
                                   "row-level private/ folder, then check every released count.")
    p.add_argument("outputs", help="an outputs/<id> folder")
    p.add_argument("release", help="the release folder to create")
    p.set_defaults(func=_cmd_export_release)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with warnings.catch_warnings():
            # third-party warnings can echo data; show only ours
            warnings.filterwarnings("ignore")
            from impacteval.exceptions import ImpactEvalWarning

            warnings.filterwarnings("default", category=ImpactEvalWarning)
            return int(args.func(args))
    except ImpactEvalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # internal error: no traceback (it may hold data) unless --debug
        if args.debug:
            raise
        print(f"internal error ({type(exc).__name__}); rerun with --debug for details and "
              "report it", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
