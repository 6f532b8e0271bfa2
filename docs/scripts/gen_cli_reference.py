"""Write docs/reference/cli.md from the argparse parser (impacteval.cli.build_parser).

Run from the repository root after changing the CLI::

    python docs/scripts/gen_cli_reference.py

``tests/functional/test_docs.py`` fails when the committed page differs from what this
script renders. The page is built from the parser's actions (not ``format_help``), so it does
not depend on the terminal width or on the Python version's help layout.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "reference" / "cli.md"


def _cell(text: str | None) -> str:
    text = (text or "").replace("|", "\\|").replace("\n", " ")
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _sentence(text: str) -> str:
    return (text[:1].upper() + text[1:] + ".") if text else ""


def _option(action: argparse.Action) -> str:
    names = ", ".join(f"`{s}`" for s in action.option_strings)
    if action.nargs != 0 and action.option_strings:
        names += f" `{action.metavar or action.dest.upper()}`"
    return names


def _default(action: argparse.Action) -> str:
    if action.required:
        return "required"
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS):
        return ""
    return f"`{action.default}`"


def _usage(prog: str, parser: argparse.ArgumentParser) -> str:
    parts = [prog]
    for a in parser._actions:
        if isinstance(a, argparse._HelpAction):
            continue
        if not a.option_strings:
            parts.append(a.metavar or a.dest)
            continue
        flag = a.option_strings[-1]
        text = flag if a.nargs == 0 else f"{flag} {a.metavar or a.dest.upper()}"
        parts.append(text if a.required else f"[{text}]")
    return " ".join(parts)


def _arguments(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | default | description |", "|---|---|---|"]
    for a in parser._actions:
        if isinstance(a, argparse._HelpAction | argparse._SubParsersAction):
            continue
        name = _option(a) if a.option_strings else f"`{a.metavar or a.dest}`"
        rows.append(f"| {name} | {_default(a)} | {_cell(a.help)} |")
    return rows


def render(parser: argparse.ArgumentParser) -> str:
    """The Markdown page for ``parser`` (a parser with one level of sub-commands)."""
    lines = [
        "# Command line",
        "",
        "Generated from `impacteval.cli.build_parser` by `python docs/scripts/gen_cli_reference.py`;"
        " do not edit by hand.",
        "",
        _cell(parser.description),
        "",
        "Exit codes: 0 success; 2 a user error (bad config or data, a design that cannot be "
        "identified, unsafe outputs), with one message saying where and how to fix it; 1 an "
        "internal error (no traceback unless `--debug`). Messages never contain row-level values.",
        "",
        "## Global options",
        "",
        *_arguments(parser),
        "",
    ]
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {c.dest: c.help for c in sub._choices_actions}
    for name, p in sub.choices.items():
        lines += [
            f"## `impacteval {name}`",
            "",
            _sentence(_cell(helps.get(name))),
            "",
            "```text",
            _usage(f"impacteval {name}", p),
            "```",
            "",
            _cell(p.description),
            "",
            *_arguments(p),
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    from impacteval.cli import build_parser

    OUT.write_text(render(build_parser()), encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
