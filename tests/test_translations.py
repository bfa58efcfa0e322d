"""Static checks of the Danish translation catalog.

Pure file tests: no app, no database. They fail when

* a string marked for translation in mailer/ or templates/ is missing from the
  committed da catalog, untranslated or still fuzzy (run the extract/update
  workflow in babel.cfg's spirit and translate it);
* a translation drops, adds or renames a %(name)s placeholder, or carries a
  stray "%" that would break %-formatting;
* the committed messages.mo was not recompiled after the .po changed
  (run ``pybabel compile -d mailer/translations``).
"""
from __future__ import annotations

import gettext
import re
import shutil
import subprocess
import sys
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "mailer" / "translations"
DA_PO = TRANSLATIONS / "da" / "LC_MESSAGES" / "messages.po"
DA_MO = TRANSLATIONS / "da" / "LC_MESSAGES" / "messages.mo"
BABEL_CFG = ROOT / "babel.cfg"
KEYWORDS = ("lazy_gettext", "_l")

# Wording fixed by the organisation (and partly asserted elsewhere, e.g. the mail subject).
FIXED_TERMS = {
    "Please confirm your subscription": "Bekræft din tilmelding",
    "Welcome to our newsletter": "Velkommen til vores nyhedsbrev",
    "Unsubscribe": "Afmeld",
    "Check your inbox": "Tjek din indbakke",
    "This link does not work": "Linket virker ikke",
    "Sign up": "Tilmeld",
    "Sign up for our newsletter": "Tilmeld dig vores nyhedsbrev",
    "Change my choices": "Skift mine valg",
    "Your choices are saved.": "Dine valg er gemt.",
    "Please choose at least one topic.": "Vælg mindst ét emne.",
    "The link has expired.": "Linket er udløbet.",
    "Too many attempts": "For mange forsøg",
}

# A printf-style conversion: optional (name), flags, width, precision, type.
CONVERSION = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?(?P<type>[diouxXeEfFgGcrsa%])")


def _pybabel_command() -> list[str]:
    pybabel = shutil.which("pybabel")
    if pybabel:
        return [pybabel]
    return [sys.executable, "-m", "babel.messages.frontend"]


def _read_po(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale="da" if path == DA_PO else None, abort_invalid=True)


def _ids(message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, (list, tuple)) else (message.id,)


def _strings(message) -> tuple[str, ...]:
    return tuple(message.string) if isinstance(message.string, (list, tuple)) else (message.string,)


def _placeholders(text: str) -> tuple[set[str], int, list[str]]:
    """Return (named placeholders, number of positional ones, stray '%' fragments)."""
    names: set[str] = set()
    positional = 0
    stray: list[str] = []
    position = 0
    while (index := text.find("%", position)) != -1:
        match = CONVERSION.match(text, index)
        if match is None:
            stray.append(text[index:index + 6])
            position = index + 1
            continue
        if match.group("type") != "%":
            if match.group("name") is not None:
                names.add(match.group("name"))
            else:
                positional += 1
        position = match.end()
    return names, positional, stray


@pytest.fixture(scope="module")
def da_catalog() -> Catalog:
    assert DA_PO.is_file(), f"{DA_PO.relative_to(ROOT)} is missing"
    return _read_po(DA_PO)


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Catalog:
    """Extract the translatable strings afresh, exactly as the documented workflow does."""
    pot = tmp_path_factory.mktemp("extract") / "messages.pot"
    command = [*_pybabel_command(), "extract", "-F", str(BABEL_CFG)]
    for keyword in KEYWORDS:
        command += ["-k", keyword]
    command += ["-o", str(pot), "."]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"pybabel extract failed:\n{result.stdout}\n{result.stderr}"
    return _read_po(pot)


def test_extraction_finds_strings(extracted):
    """Guard the guard: an empty extraction would make the next test pass vacuously."""
    assert sum(1 for message in extracted if message.id) > 20


def test_every_translatable_string_is_translated(extracted, da_catalog):
    problems = []
    for message in extracted:
        if not message.id:
            continue
        location = ", ".join(f"{path}:{line}" for path, line in message.locations[:3])
        translated = da_catalog.get(message.id, message.context)
        if translated is None:  # obsolete (#~) entries are not returned by get()
            problems.append(f"missing from da catalog: {message.id!r} ({location})")
        elif "fuzzy" in translated.flags:
            problems.append(f"fuzzy: {message.id!r} ({location})")
        elif message.pluralizable != translated.pluralizable or _ids(message) != _ids(translated):
            problems.append(f"singular/plural mismatch: {message.id!r} ({location})")
        elif not all(s.strip() for s in _strings(translated)):
            problems.append(f"untranslated: {message.id!r} ({location})")
    assert not problems, (
        "Run the extract/update workflow, translate and compile:\n  " + "\n  ".join(problems)
    )


def test_plural_forms_match_danish(da_catalog):
    assert da_catalog.num_plurals == 2
    for message in da_catalog:
        if message.id and message.pluralizable and message.string:
            assert len(message.string) == 2, f"{message.id!r} needs 2 plural forms"


def test_placeholders_are_kept(da_catalog):
    problems = []
    for message in da_catalog:
        if not message.id or not any(_strings(message)):
            continue
        ids = _ids(message)
        for index, string in enumerate(_strings(message)):
            if not string:
                continue
            source = ids[min(index, len(ids) - 1)]
            source_names, source_positional, _ = _placeholders(source)
            names, positional, stray = _placeholders(string)
            if names != source_names:
                problems.append(
                    f"{source!r}: placeholders {sorted(source_names)} became {sorted(names)} in {string!r}"
                )
            if positional != source_positional:
                problems.append(f"{source!r}: positional placeholders differ in {string!r}")
            if stray:
                problems.append(f"{source!r}: stray '%' (write '%%') in {string!r}: {stray}")
    for message, errors in da_catalog.check():
        problems += [f"{message.id!r}: {error}" for error in errors]
    assert not problems, "\n".join(problems)


def test_fixed_terms(da_catalog):
    for source, expected in FIXED_TERMS.items():
        message = da_catalog.get(source)
        if message is None:  # the string left the code; nothing to pin
            continue
        assert message.string == expected, f"{source!r} must be {expected!r}, not {message.string!r}"


def test_compiled_catalog_is_up_to_date(da_catalog):
    assert DA_MO.is_file(), "messages.mo is missing: run pybabel compile -d mailer/translations"
    buffer = BytesIO()
    write_mo(buffer, da_catalog)
    buffer.seek(0)
    expected = dict(gettext.GNUTranslations(buffer)._catalog)
    with DA_MO.open("rb") as f:
        committed = dict(gettext.GNUTranslations(f)._catalog)
    # The header ("") carries the Babel version and dates; only the messages matter.
    expected.pop("", None)
    committed.pop("", None)
    stale = sorted(
        str(key) for key in expected.keys() | committed.keys() if expected.get(key) != committed.get(key)
    )
    assert not stale, (
        "messages.mo does not match messages.po; run pybabel compile -d mailer/translations. "
        f"Differing entries: {stale[:10]}"
    )


def test_compiled_catalog_translates():
    """The committed .mo is what the app loads; a smoke check through plain gettext."""
    with DA_MO.open("rb") as f:
        translations = gettext.GNUTranslations(f)
    assert translations.gettext("Please confirm your subscription") == "Bekræft din tilmelding"
