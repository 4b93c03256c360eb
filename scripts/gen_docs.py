"""Regenerate the documentation tables that are derived from code and data files.

Every block between ``<!-- BEGIN GENERATED: name -->`` and ``<!-- END GENERATED: name -->``
in README.md and docs/*.md is replaced by the output of the section ``name`` below.
``--check`` changes nothing and exits 1 when a file differs from what would be written
(the test suite runs it), so a table can never drift from the code it describes.

    python scripts/gen_docs.py           # rewrite the generated blocks
    python scripts/gen_docs.py --check   # exit 1 if any block is stale
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prodq_dagster.core.vocab import VOCABULARY_COLUMNS, load_vocabularies  # noqa: E402

BLOCK = re.compile(r"(<!-- BEGIN GENERATED: (?P<name>[a-z_]+) -->\n)(?P<body>.*?)(<!-- END GENERATED: (?P=name) -->)", re.S)


def _code(values: list[str]) -> str:
    return ", ".join(f"`{v}`" for v in values) or "–"


def vocabularies() -> str:
    vocab = load_vocabularies()
    out = []
    for name, (entity, column) in VOCABULARY_COLUMNS.items():
        v = vocab[name]
        fold = "lower snake case (camelCase split, runs of spaces and hyphens become `_`)" if v.fold == "snake_case" else "lower case"
        out += [f"#### `{name}`: {v.description}", "", f"File `core/vocabularies/{name}.toml`; column `{entity}.{column}`; raw values trimmed and folded to {fold}.", ""]
        aliases = v.aliases()
        if name == "country":
            bare = [c for c, extra in aliases.items() if not extra]
            out += [f"{len(v.canonical)} canonical values; {len(bare)} of them are accepted only as themselves (any case): {_code(bare)}.", ""]
            aliases = {c: extra for c, extra in aliases.items() if extra}
        out += ["| canonical | other accepted spellings (folded) |", "|---|---|"]
        out += [f"| `{value}` | {_code(extra)} |" for value, extra in aliases.items()]
        out.append("")
    return "\n".join(out)


SECTIONS: dict[str, Callable[[], str]] = {
    "vocabularies": vocabularies,
}


def targets() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def render(text: str) -> str:
    def replace(match: re.Match) -> str:
        name = match.group("name")
        if name not in SECTIONS:
            raise SystemExit(f"gen_docs: unknown generated section {name!r}")
        return f"{match.group(1)}{SECTIONS[name]().rstrip()}\n{match.group(4)}"

    return BLOCK.sub(replace, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated block is stale; write nothing")
    args = parser.parse_args(argv)
    stale = []
    for path in targets():
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        new = render(text)
        if new != text:
            stale.append(path.relative_to(ROOT))
            if not args.check:
                path.write_text(new, encoding="utf-8")
    if args.check and stale:
        print("stale generated docs (run python scripts/gen_docs.py): " + ", ".join(map(str, stale)), file=sys.stderr)
        return 1
    if not args.check:
        print(f"gen_docs: {len(stale)} file(s) rewritten" + (f": {', '.join(map(str, stale))}" if stale else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
