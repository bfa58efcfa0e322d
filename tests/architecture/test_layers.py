"""The house stays clear: no import cycles, domain code without HTTP state, a mail library without the app."""
from __future__ import annotations

import pytest

from tests.architecture.imports import PACKAGE, cycles, import_graph, imported_names, module_name

DOMAIN_PACKAGES = ("mailer.mailings", "mailer.subscribers", "mailer.events", "mailer.sending", "mailer.composing",
                   "mailer.mail", "mailer.models", "mailer.tasks")
HTTP_PACKAGES = ("mailer.public", "mailer.staff")


def _in(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_there_is_no_import_cycle_in_the_package():
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_function_level_imports_count_too():
    import ast

    tree = ast.parse("def f():\n    from mailer.sending import engine\n")
    assert "mailer.sending.engine" in imported_names(tree, "mailer.x", False, {"mailer.sending.engine"})


DOMAIN_MODULES = sorted(p for p in PACKAGE.rglob("*.py") if _in(module_name(p), DOMAIN_PACKAGES))


@pytest.mark.parametrize("path", DOMAIN_MODULES, ids=module_name)
def test_domain_code_reads_no_request_or_session(path):
    """Domain services take ids and values; only blueprints look at the HTTP request and the cookie session."""
    name = module_name(path)
    source = path.read_text()
    for forbidden in ("request", "session"):
        assert f"from flask import {forbidden}" not in source
        assert f"flask.{forbidden}" not in source
        assert not any(line.startswith("from flask import") and forbidden in line.replace(",", " ").split()
                       for line in source.splitlines()), f"{name} imports flask.{forbidden}"


def test_domain_code_never_imports_the_http_layer():
    graph = import_graph()
    upward = sorted((m, t) for m, targets in graph.items() if _in(m, DOMAIN_PACKAGES)
                    for t in targets if _in(t, HTTP_PACKAGES))
    assert upward == []


def test_the_mail_library_imports_nothing_else_of_the_app():
    graph = import_graph()
    outside = sorted((m, t) for m, targets in graph.items() if _in(m, ("mailer.mail",))
                     for t in targets if not _in(t, ("mailer.mail",)))
    assert outside == []
