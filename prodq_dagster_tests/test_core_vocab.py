"""Vocabularies as data: the shipped TOML files, user files that extend or replace them, errors."""

from __future__ import annotations

import pyarrow as pa
import pytest

from prodq_dagster.core.contract import EVENTS, code_version
from prodq_dagster.core.vocab import VOCABULARY_COLUMNS, VocabularyError, load_vocabularies
from prodq_dagster_tests.test_core_support import good_event, run_dir, run_rows

PRODUCT_EVENTS = ("login", "logout", "signup", "feature_use", "paywall_view", "error")
COMMERCE_EVENTS = ("page_view", "search", "add_to_cart", "checkout", "purchase")


def canonical(vocab, name: str, raw: list[str]) -> list[str | None]:
    v = vocab[name]
    return v.lookup(v.keys_of(pa.array(raw, pa.string()))).to_pylist()


def test_shipped_vocabularies_and_their_closed_sets():
    vocab = load_vocabularies()
    assert set(vocab.by_name) == set(VOCABULARY_COLUMNS)
    assert vocab.platform.canonical == ["android", "ios", "web"]
    assert vocab.order_status.canonical == ["chargeback", "failed", "paid", "refunded"]
    assert vocab.customer_status.canonical == ["active", "banned", "inactive"]
    assert len(vocab.country.canonical) == 249 and all(len(c) == 2 and c.isupper() for c in vocab.country.canonical)
    assert set(PRODUCT_EVENTS + COMMERCE_EVENTS) <= set(vocab.event_type.canonical)
    for v in vocab.by_name.values():
        assert all(key == key.strip() for key in v.spellings)


def test_product_analytics_spellings_in_any_case():
    vocab = load_vocabularies()
    raw = ["FEATURE_USE", "Logout", "LogIn", "sign up", "Paywall-View", "ERROR", "Signed Up", "featureUse"]
    assert canonical(vocab, "event_type", raw) == ["feature_use", "logout", "login", "signup", "paywall_view", "error", "signup", "feature_use"]
    assert canonical(vocab, "country", ["usa", "NA", "na", "Deutschland", "Atlantis"]) == ["US", "NA", "NA", "DE", None]


def test_user_file_extends_the_shipped_vocabulary(tmp_path):
    (tmp_path / "event_type.toml").write_text('[values]\nteleport = ["Beam Me Up"]\nlogin = ["AUTH_OK"]\n')
    shipped, user = load_vocabularies(), load_vocabularies(tmp_path)
    raw = ["teleport", "TELEPORT", "Beam Me Up", "beamMeUp", "AUTH_OK", "auth ok", "page_view"]
    assert canonical(user, "event_type", raw) == ["teleport", "teleport", "teleport", "teleport", "login", "login", "page_view"]
    assert canonical(shipped, "event_type", ["teleport"]) == [None]
    assert "teleport" in user.event_type.canonical
    assert user.digest != shipped.digest
    assert code_version(user) != code_version(shipped)
    assert user.event_type.sources[-1].endswith("(extend)")


def test_user_file_replaces_when_asked(tmp_path):
    (tmp_path / "platform.toml").write_text('mode = "replace"\n[values]\nconsole = ["playstation", "xbox"]\n')
    user = load_vocabularies(tmp_path)
    assert user.platform.canonical == ["console"]
    assert canonical(user, "platform", ["PlayStation", "web"]) == ["console", None]


def test_a_spelling_listed_again_moves_to_the_users_value(tmp_path):
    (tmp_path / "platform.toml").write_text('[values]\nweb = []\nandroid = ["browser"]\n')
    assert canonical(load_vocabularies(tmp_path), "platform", ["browser"]) == ["android"]


def test_same_vocabularies_give_the_same_digest(tmp_path):
    (tmp_path / "currency.toml").write_text('[values]\nSEK = ["kr", "kronor"]\n')
    assert load_vocabularies(tmp_path).digest == load_vocabularies(tmp_path).digest
    assert load_vocabularies().digest == load_vocabularies().digest


@pytest.mark.parametrize(
    "name,text,message",
    [
        ("event_type.toml", "[values\n", "not valid TOML"),
        ("event_types.toml", "[values]\n", "no vocabulary named 'event_types'"),
        ("platform.toml", 'modes = "extend"\n', "unknown key"),
        ("platform.toml", 'mode = "merge"\n', "mode must be"),
        ("platform.toml", '[values]\nconsole = "xbox"\n', "list of non-empty strings"),
        ("event_type.toml", 'fold = "lower"\n', "fold cannot be changed"),
        ("order_status.toml", '[values]\npending = ["awaiting"]\n', "fixed by the rules"),
        ("customer_status.toml", 'mode = "replace"\n', "is empty"),
    ],
)
def test_bad_user_files_fail_with_a_clear_message(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(VocabularyError, match=message):
        load_vocabularies(tmp_path)


def test_order_status_accepts_new_spellings_of_fixed_values(tmp_path):
    (tmp_path / "order_status.toml").write_text('[values]\npaid = ["PAYMENT_OK", "approved"]\n')
    assert canonical(load_vocabularies(tmp_path), "order_status", ["Approved", "payment ok", "payment_ok"]) == ["paid", None, "paid"]


def test_missing_user_folder_is_an_error(tmp_path):
    with pytest.raises(VocabularyError, match="does not exist"):
        load_vocabularies(tmp_path / "nope")


def test_pipeline_uses_the_vocabularies_it_is_given(tmp_path):
    rows = [good_event("E1", event_type="teleport"), good_event("E2", event_type="page_view")]
    shipped = run_rows(tmp_path, EVENTS, rows)
    assert shipped.clean.column("event_id").to_pylist() == ["E2"]
    assert shipped.quarantine.column("reject_reason").to_pylist() == ["invalid_event_type"]
    [unknown] = shipped.stats.unknown_values["event_type"]
    assert (unknown.value, unknown.rows, unknown.spellings) == ("teleport", 1, ["teleport"])

    (tmp_path / "vocab").mkdir()
    (tmp_path / "vocab" / "event_type.toml").write_text('[values]\nteleport = []\n')
    extended = run_dir(tmp_path, EVENTS, vocab=load_vocabularies(tmp_path / "vocab"))
    assert extended.clean.column("event_type").to_pylist() == ["teleport", "page_view"]
    assert extended.stats.unknown_values == {}


def test_canonical_values_are_written_in_the_vocabularys_form(tmp_path):
    """Found by a black-box test: ``us`` or ``Click`` in a user file must not split a category."""
    (tmp_path / "country.toml").write_text('[values]\nus = ["merica"]\n')
    (tmp_path / "event_type.toml").write_text('[values]\nClick = ["klik"]\n"App Foreground" = []\n')
    vocab = load_vocabularies(tmp_path)
    assert canonical(vocab, "country", ["US", "merica", "usa"]) == ["US", "US", "US"]
    assert canonical(vocab, "event_type", ["click", "KLIK", "app foreground"]) == ["click", "click", "app_foreground"]
    assert "Click" not in vocab.event_type.canonical and "us" not in vocab.country.canonical


@pytest.mark.parametrize(
    "name,text,message",
    [
        ("country.toml", '[values]\nUSA = []\n', "not a valid country value"),
        ("currency.toml", '[values]\nEURO = []\n', "not a valid currency value"),
        ("platform.toml", '[values]\nweb = ["zz"]\nios = ["ZZ"]\n', "listed under both 'web' and 'ios'"),
        ("platform.toml", '[values]\nweb = ["n/a"]\n', "null marker"),
        ("platform.toml", '[values]\nnone = []\n', "null marker"),
        ("order_status.toml", 'mode = "replace"\n[values]\npaid = []\n', "must keep exactly these values"),
    ],
)
def test_more_bad_user_files(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(VocabularyError, match=message):
        load_vocabularies(tmp_path)


def test_non_utf8_vocabulary_file_names_the_file(tmp_path):
    (tmp_path / "platform.toml").write_bytes('[values]\nweb = ["caf\xe9"]\n'.encode("latin-1"))
    with pytest.raises(VocabularyError, match="platform.toml"):
        load_vocabularies(tmp_path)


def test_unicode_forms_are_one_spelling(tmp_path):
    import unicodedata

    (tmp_path / "country.toml").write_text('[values]\nAT = ["Österreich"]\n', encoding="utf-8")
    vocab = load_vocabularies(tmp_path)
    decomposed = unicodedata.normalize("NFD", "Österreich")
    assert canonical(vocab, "country", [decomposed, "ÖSTERREICH"]) == ["AT", "AT"]


def test_the_folder_takes_toml_files_in_any_case_and_ignores_the_rest(tmp_path):
    (tmp_path / "Platform.TOML").write_text('[values]\nconsole = []\n')
    (tmp_path / "README.md").write_text("notes")
    (tmp_path / "platform.toml.bak").write_text("[values\n")
    (tmp_path / "._platform.toml").write_bytes(b"\x00\x05binary")  # a macOS resource fork
    (tmp_path / ".hidden.toml").write_text("[values\n")
    assert "console" in load_vocabularies(tmp_path).platform.canonical
    (tmp_path / "platform.toml").write_text('[values]\nconsole = []\n')
    with pytest.raises(VocabularyError, match="both the platform vocabulary"):
        load_vocabularies(tmp_path)
