"""Canonical vocabularies: which raw spellings map to which canonical value.

Each vocabulary is one TOML file shipped in ``core/vocabularies/`` (``[values]`` maps a
canonical value to the extra spellings that mean it; every canonical value is also
accepted as itself). Raw values are trimmed and folded (lower case, or lower snake case
for event types) before lookup, and spellings are folded the same way when a file is
loaded, so a file may list ``FEATURE_USE`` or ``feature_use`` alike.

A folder of user files (the ``PRODQ_VOCAB_DIR`` setting) adjusts the shipped ones: a
file with the same name extends the shipped vocabulary (``mode = "extend"``, the
default: new canonical values and spellings are added, a spelling listed again moves
to the user's canonical value) or replaces it (``mode = "replace"``). The digest of
the vocabularies in force is part of every asset's code version, so changing a file
marks the partitions built under the old vocabulary as stale.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from .contract import NULL_MARKERS

SHIPPED_DIR = Path(__file__).resolve().parent / "vocabularies"
# Vocabulary name -> the contract column it normalizes (and the entity that column is in).
VOCABULARY_COLUMNS = {
    "country": ("customers", "country"),
    "customer_status": ("customers", "status"),
    "event_type": ("events", "event_type"),
    "platform": ("events", "platform"),
    "currency": ("orders", "currency"),
    "order_status": ("orders", "status"),
}
MODES = ("extend", "replace")
# The order rules name these values (paid, refunded and chargeback need an amount above
# zero), so user files may add spellings to them but not new canonical values.
FIXED_CANONICAL = {"order_status"}


class VocabularyError(ValueError):
    """A vocabulary file the user has to fix (bad TOML, unknown name or key, wrong types)."""


def snake_case(values: pa.Array) -> pa.Array:
    """``PageView`` / ``page view`` / ``Page-View`` -> ``page_view``."""
    split_camel = pc.replace_substring_regex(values, r"([a-z0-9])([A-Z])", r"\1_\2")
    return pc.replace_substring_regex(pc.utf8_lower(split_camel), r"[\s\-]+", "_")


def fold_array(values: pa.Array, fold: str) -> pa.Array:
    """The lookup key of each (already trimmed) raw value: Unicode NFC (so a composed and a
    decomposed ``Ö`` are one spelling), then lower case or lower snake case."""
    values = pc.utf8_normalize(values, form="NFC")
    return snake_case(values) if fold == "snake_case" else pc.utf8_lower(values)


@dataclass(frozen=True)
class Vocabulary:
    """One vocabulary in force: folded spelling -> canonical value."""

    name: str
    description: str
    fold: str
    spellings: dict[str, str]
    sources: tuple[str, ...] = ()
    _keys: pa.Array = field(init=False, repr=False, compare=False)
    _canonical: pa.Array = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keys", pa.array(list(self.spellings), pa.string()))
        object.__setattr__(self, "_canonical", pa.array(list(self.spellings.values()), pa.string()))

    @property
    def canonical(self) -> list[str]:
        """The sorted canonical values (what clean data may contain)."""
        return sorted(set(self.spellings.values()))

    def aliases(self) -> dict[str, list[str]]:
        """Canonical value -> its sorted spellings other than the value's own folded form."""
        out: dict[str, list[str]] = {value: [] for value in self.canonical}
        own = dict(zip(self.canonical, fold_array(pa.array(self.canonical, pa.string()), self.fold).to_pylist()))
        for spelling, value in sorted(self.spellings.items()):
            if spelling != own[value]:
                out[value].append(spelling)
        return out

    def keys_of(self, present: pa.Array) -> pa.Array:
        """The folded lookup key of each trimmed, present raw value."""
        return fold_array(present, self.fold)

    def lookup(self, keys: pa.Array) -> pa.Array:
        """Canonical value of each folded key; null where the key is unknown."""
        return pc.take(self._canonical, pc.index_in(keys, value_set=self._keys))


@dataclass(frozen=True)
class Vocabularies:
    """Every vocabulary in force, and a digest of them for code versions."""

    by_name: dict[str, Vocabulary]
    digest: str

    def __getitem__(self, name: str) -> Vocabulary:
        return self.by_name[name]

    @property
    def country(self) -> Vocabulary:
        return self.by_name["country"]

    @property
    def customer_status(self) -> Vocabulary:
        return self.by_name["customer_status"]

    @property
    def event_type(self) -> Vocabulary:
        return self.by_name["event_type"]

    @property
    def platform(self) -> Vocabulary:
        return self.by_name["platform"]

    @property
    def currency(self) -> Vocabulary:
        return self.by_name["currency"]

    @property
    def order_status(self) -> Vocabulary:
        return self.by_name["order_status"]


def _fold_texts(texts: list[str], fold: str) -> list[str]:
    """Fold spellings with the same kernel that folds raw values, so both always agree."""
    trimmed = pc.utf8_trim_whitespace(pa.array(texts, pa.string()))
    return fold_array(trimmed, fold).to_pylist()


def _read(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise VocabularyError(f"vocabulary file {path} is not valid TOML (UTF-8): {exc}") from None
    except OSError as exc:
        raise VocabularyError(f"cannot read vocabulary file {path}: {exc.strerror or exc}") from None


USER_KEYS = {"description", "fold", "mode", "values"}
SHIPPED_KEYS = USER_KEYS | {"canonical_form", "canonical_pattern"}


@dataclass(frozen=True)
class _Rules:
    """How one vocabulary's canonical values are written and checked (from its shipped file)."""

    name: str
    fold: str
    upper: bool  # canonical values are upper case (codes); otherwise they are in folded form
    pattern: str | None

    def canonical(self, path: Path, value: str) -> str:
        text = value.strip()
        written = text.upper() if self.upper else _fold_texts([text], self.fold)[0]
        if self.pattern and not re.fullmatch(self.pattern, written):
            raise VocabularyError(f"vocabulary file {path}: {value!r} is not a valid {self.name} value ({self.pattern})")
        if written.lower() in NULL_MARKERS:
            raise VocabularyError(f"vocabulary file {path}: {value!r} is a null marker, not a value")
        return written


def _values(path: Path, document: dict, allowed: set[str]) -> dict[str, list[str]]:
    unknown = sorted(set(document) - allowed)
    if unknown:
        raise VocabularyError(f"vocabulary file {path}: unknown key(s) {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
    values = document.get("values", {})
    if not isinstance(values, dict):
        raise VocabularyError(f"vocabulary file {path}: [values] must be a table of canonical value = [spellings]")
    for canonical, spellings in values.items():
        if not canonical.strip() or not isinstance(spellings, list) or not all(isinstance(s, str) and s.strip() for s in spellings):
            raise VocabularyError(f"vocabulary file {path}: {canonical!r} must map to a list of non-empty strings")
    return values


def _apply(spellings: dict[str, str], path: Path, values: dict[str, list[str]], rules: _Rules) -> None:
    """Add one file's values: every spelling (and the value itself) folded, mapped to the value."""
    seen: dict[str, str] = {}
    for raw_value, extra in values.items():
        value = rules.canonical(path, raw_value)
        for spelling, key in zip([raw_value, *extra], _fold_texts([raw_value, *extra], rules.fold)):
            if key.lower() in NULL_MARKERS:
                raise VocabularyError(f"vocabulary file {path}: {spelling!r} is a null marker: it is never looked up")
            if seen.get(key, value) != value:
                raise VocabularyError(f"vocabulary file {path}: {spelling!r} is listed under both {seen[key]!r} and {value!r}")
            seen[key] = value
            spellings[key] = value


def _user_files(user_dir: str | Path) -> dict[str, Path]:
    """The user's vocabulary files: ``<name>.toml`` in any case; hidden files and other files are ignored."""
    folder = Path(user_dir)
    if not folder.is_dir():
        raise VocabularyError(f"vocabulary folder {folder} does not exist or is not a folder")
    found: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith((".", "_")) or path.suffix.lower() != ".toml" or path.is_dir():
            continue
        name = path.stem.lower()
        if name not in VOCABULARY_COLUMNS:
            raise VocabularyError(f"vocabulary file {path}: no vocabulary named {path.stem!r} (expected one of {', '.join(VOCABULARY_COLUMNS)})")
        if name in found:
            raise VocabularyError(f"vocabulary files {found[name]} and {path} are both the {name} vocabulary")
        found[name] = path
    return found


def load_vocabularies(user_dir: str | Path | None = None) -> Vocabularies:
    """The shipped vocabularies, adjusted by the ``*.toml`` files of ``user_dir`` when given."""
    user_files = _user_files(user_dir) if user_dir else {}
    by_name: dict[str, Vocabulary] = {}
    for name in VOCABULARY_COLUMNS:
        shipped_path = SHIPPED_DIR / f"{name}.toml"
        shipped = _read(shipped_path)
        rules = _Rules(name, shipped["fold"], shipped.get("canonical_form") == "upper", shipped.get("canonical_pattern"))
        shipped_values = _values(shipped_path, shipped, SHIPPED_KEYS)
        spellings: dict[str, str] = {}
        sources = [f"shipped:{name}.toml"]
        user_path = user_files.get(name)
        user = _read(user_path) if user_path else None
        mode = "extend"
        if user is not None:
            mode = user.get("mode", "extend")
            if mode not in MODES:
                raise VocabularyError(f"vocabulary file {user_path}: mode must be 'extend' or 'replace', not {mode!r}")
            if user.get("fold", rules.fold) != rules.fold:
                raise VocabularyError(f"vocabulary file {user_path}: the {name} vocabulary is folded {rules.fold!r}; fold cannot be changed")
        if mode == "extend":
            _apply(spellings, shipped_path, shipped_values, rules)
        if user is not None:
            _apply(spellings, user_path, _values(user_path, user, USER_KEYS), rules)
            sources = ([] if mode == "replace" else sources) + [f"user:{user_path} ({mode})"]
        if not spellings:
            raise VocabularyError(f"the {name} vocabulary is empty (a replacing file must list at least one value)")
        if name in FIXED_CANONICAL and user is not None:
            fixed = set(shipped_values)
            if set(spellings.values()) != fixed:
                raise VocabularyError(
                    f"vocabulary file {user_path}: the {name} values are fixed by the rules ({', '.join(sorted(fixed))}): "
                    "a file may add spellings to them, but must keep exactly these values"
                )
        by_name[name] = Vocabulary(name, shipped.get("description", name), rules.fold, spellings, tuple(sources))
    payload = json.dumps({n: sorted(v.spellings.items()) for n, v in by_name.items()}, ensure_ascii=False)
    return Vocabularies(by_name, hashlib.sha256(payload.encode()).hexdigest()[:12])
