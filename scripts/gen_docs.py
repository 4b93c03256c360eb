"""Regenerate the documentation tables that are derived from code and data files.

Every block between ``<!-- BEGIN GENERATED: name -->`` and ``<!-- END GENERATED: name -->``
in README.md and docs/*.md is replaced by the output of the section ``name`` below:

    vocabularies      docs/vocabularies.md   the shipped vocabulary files (core/vocabularies/*.toml)
    contract          docs/contract.md       entities, columns, keys, required columns (core.contract.ENTITIES)
    rules             docs/contract.md       the rule catalogue in order (core.rules.CATALOGUE)
    rules_by_entity   docs/contract.md       reject and warn codes per entity (core.rules.rules_for)
    settings          docs/configuration.md  every setting (settings.ProdqSettings.model_fields)
    settings_common   README.md              the settings a user changes most (same source)
    clean_schemas     docs/outputs.md        clean columns, types, meaning (core.outputs)
    quarantine_schema docs/outputs.md        quarantine columns (core.outputs)

The alert types have no descriptive text in the code, so their tables (README.md,
docs/outputs.md) are written by hand; prodq_dagster_tests/test_docs.py checks that they name
exactly ``core.alerts.ALERT_TYPES``.

``--check`` changes nothing and exits 1 when a file differs from what would be written, or
when a block names an unknown section (the test suite runs it), so a table can never drift
from the code it describes.

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

from prodq_dagster import settings as settings_module  # noqa: E402
from prodq_dagster.core.alerts import FAIL_ON_LEVELS  # noqa: E402
from prodq_dagster.core.contract import ENTITIES  # noqa: E402
from prodq_dagster.core.outputs import CLEAN_SCHEMAS, COLUMN_DESCRIPTIONS, QUARANTINE_DESCRIPTIONS, QUARANTINE_SCHEMAS  # noqa: E402
from prodq_dagster.core.rules import CATALOGUE, Action, rules_for  # noqa: E402
from prodq_dagster.core.vocab import VOCABULARY_COLUMNS, load_vocabularies  # noqa: E402

BLOCK = re.compile(r"(<!-- BEGIN GENERATED: (?P<name>[a-z_]+) -->\n)(?P<body>.*?)(<!-- END GENERATED: (?P=name) -->)", re.S)

# The settings the README's short table shows: the ones a user changes first (locations, the
# CI gate, the commonest thresholds, schedule and sensor, vocabularies). The full list is
# generated into docs/configuration.md.
COMMON_SETTINGS = (
    "raw_dir",
    "out_dir",
    "reports_dir",
    "partitions_start",
    "fail_on",
    "vocab_dir",
    "volume_drop_ratio",
    "hourly_max_empty_hours",
    "quarantine_rate_max",
    "sensor_grace_minutes",
    "schedule_hour",
    "schedule_timezone",
)


def _code(values) -> str:
    return ", ".join(f"`{v}`" for v in values) or "–"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def vocabularies() -> str:
    vocab = load_vocabularies()
    out = []
    for name, (entity, column) in VOCABULARY_COLUMNS.items():
        v = vocab[name]
        fold = "lower snake case (camelCase split, runs of spaces and hyphens become `_`)" if v.fold == "snake_case" else "lower case"
        out += [f"### `{name}`: {v.description}", "", f"File `core/vocabularies/{name}.toml`; column `{entity}.{column}`; raw values trimmed and folded to {fold}.", ""]
        aliases = v.aliases()
        if name == "country":
            bare = [c for c, extra in aliases.items() if not extra]
            out += [f"{len(v.canonical)} canonical values; {len(bare)} of them are accepted only as themselves (any case): {_code(bare)}.", ""]
            aliases = {c: extra for c, extra in aliases.items() if extra}
        out += ["| canonical | other accepted spellings (folded) |", "|---|---|"]
        out += [f"| `{value}` | {_code(extra)} |" for value, extra in aliases.items()]
        out.append("")
    return "\n".join(out)


def contract() -> str:
    out = [
        "| entity | files (`<prefix>*.csv` or `.csv.gz`) | columns (all arrive as text) | primary key | time column | required columns |",
        "|---|---|---|---|---|---|",
    ]
    for e in ENTITIES.values():
        out.append(
            f"| {e.name} | `{e.file_prefix}` | {', '.join(e.columns)} | `{e.primary_key}` | `{e.time_column}` | {_code(e.required_columns)} |"
        )
    return "\n".join(out)


def rules() -> str:
    out = ["| # | code | entities | action | description |", "|---|---|---|---|---|"]
    for i, rule in enumerate(CATALOGUE, 1):
        out.append(f"| {i} | `{rule.code}` | {', '.join(rule.entities)} | {rule.action.value} | {_cell(rule.description)} |")
    return "\n".join(out)


def rules_by_entity() -> str:
    out = ["| entity | reject codes (→ quarantine) | warn codes (row stays clean) |", "|---|---|---|"]
    for name in ENTITIES:
        reject = [r.code for r in rules_for(name, Action.REJECT)]
        warn = [r.code for r in rules_for(name, Action.WARN)]
        out.append(f"| {name} | {_code(reject)} | {_code(warn)} |")
    return "\n".join(out)


def _default(value) -> str:
    return "(none)" if value == "" else f"`{value}`"


def _valid(name: str, kind: type) -> str:
    bounds = getattr(settings_module, "_BOUNDS", {})
    if name in bounds:
        low, high = bounds[name]
        return f"{low} – {high:,}" if isinstance(high, int) and high >= 10**6 else f"{low} – {high}"
    if name == "fail_on":
        return " / ".join(f"`{v}`" for v in FAIL_ON_LEVELS)
    if name == "partitions_start":
        return "`YYYY-MM-DD`"
    return "–"


def _settings_rows(names) -> list[str]:
    fields = settings_module.ProdqSettings.model_fields
    rows = []
    for name in names:
        field = fields[name]
        kind = field.annotation if isinstance(field.annotation, type) else type(field.default)
        variable = settings_module.ENV_PREFIX + name.upper()
        rows.append((variable, kind, name, field))
    return rows


def settings() -> str:
    out = ["| variable | type | default | valid | meaning |", "|---|---|---|---|---|"]
    for variable, kind, name, field in _settings_rows(settings_module.ProdqSettings.model_fields):
        out.append(f"| `{variable}` | {kind.__name__} | {_default(field.default)} | {_valid(name, kind)} | {_cell(field.description or '')} |")
    return "\n".join(out)


def settings_common() -> str:
    out = ["| variable | default | meaning |", "|---|---|---|"]
    for variable, _kind, _name, field in _settings_rows(COMMON_SETTINGS):
        out.append(f"| `{variable}` | {_default(field.default)} | {_cell(field.description or '')} |")
    return "\n".join(out)


def clean_schemas() -> str:
    out = []
    for name, schema in CLEAN_SCHEMAS.items():
        descriptions = COLUMN_DESCRIPTIONS.get(name, {})
        out += [f"**{name}** (`clean/{name}/`)", "", "| column | type | meaning |", "|---|---|---|"]
        out += [f"| `{f.name}` | {f.type} | {_cell(descriptions.get(f.name, ''))} |" for f in schema]
        out.append("")
    return "\n".join(out)


def quarantine_schema() -> str:
    trailing = list(QUARANTINE_DESCRIPTIONS)
    out = ["| entity | raw contract columns (string, text as received) |", "|---|---|"]
    for name, schema in QUARANTINE_SCHEMAS.items():
        out.append(f"| {name} | {_code([f.name for f in schema if f.name not in trailing])} |")
    any_schema = next(iter(QUARANTINE_SCHEMAS.values()))
    out += ["", "then, for every entity:", "", "| column | type | meaning |", "|---|---|---|"]
    out += [f"| `{f.name}` | {f.type} | {_cell(QUARANTINE_DESCRIPTIONS[f.name])} |" for f in any_schema if f.name in trailing]
    return "\n".join(out)


SECTIONS: dict[str, Callable[[], str]] = {
    "vocabularies": vocabularies,
    "contract": contract,
    "rules": rules,
    "rules_by_entity": rules_by_entity,
    "settings": settings,
    "settings_common": settings_common,
    "clean_schemas": clean_schemas,
    "quarantine_schema": quarantine_schema,
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
