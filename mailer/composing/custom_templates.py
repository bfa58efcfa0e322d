"""Custom mail templates saved by admins: rendered in Jinja's immutable sandbox, with an output cap.

A custom template is staff input, so it gets the same distrust as any other: it runs in
`ImmutableSandboxedEnvironment` (no private attributes, no mutating lists or dicts), every
undefined name is an error, operators and calls that could build a huge value are checked
*before* they run, and the output is counted while it is generated and abandoned at the cap.
"""
from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from typing import Any

from flask_babel import gettext
from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from markupsafe import Markup

OUTPUT_LIMIT = 512 * 1024  # characters of output per part
SOURCE_LIMIT = 60_000      # characters of source per part

# What CompiledMailing hands every template; per-recipient values arrive as markers.
HTML_VARIABLES = (
    "subject", "preheader", "language", "organisation_name", "greeting", "name", "unsubscribe_url",
    "manage_url", "view_in_browser_url", "body_html", "event_card_html", "web_version",
)
TEXT_VARIABLES = (
    "subject", "preheader", "language", "organisation_name", "greeting", "name", "unsubscribe_url",
    "manage_url", "view_in_browser_url", "body_text", "event_card_text", "web_version",
)
_BIG_NUMBER = re.compile(r"\d{6,}")  # a width or precision of 100000+ in a format string


class TemplateRefused(ValueError):
    """The template cannot be used; the message says why, for the admin."""


class _OutputTooLarge(Exception):
    pass


def _too_large() -> TemplateRefused:
    return TemplateRefused(gettext("The template produces too much output (more than %(limit)s KB).",
                                   limit=OUTPUT_LIMIT // 1024))


def _check_number(value: Any) -> None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) > OUTPUT_LIMIT:
        raise _OutputTooLarge


def _check_format_string(value: Any) -> None:
    # A huge width in a format string ("%9999999s", "{:>9999999}") would build the value first.
    if isinstance(value, str) and _BIG_NUMBER.search(value):
        raise _OutputTooLarge


def _guarded(function):
    """Refuse filter arguments that would build a huge value (center(10**9), "%9999999s"|format, ...)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        # The first arguments are the environment or context (when asked for) and the value filtered.
        first_option = 2 if getattr(function, "jinja_pass_arg", None) else 1
        for value in (*args[first_option:], *kwargs.values()):
            _check_number(value)
        if function.__name__ == "do_format":
            for value in args:
                _check_format_string(value)
        return function(*args, **kwargs)

    return wrapper


class MailSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus checks on the operators and calls that can blow up memory."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def __init__(self, *, html: bool) -> None:
        super().__init__(autoescape=html, undefined=StrictUndefined, keep_trailing_newline=True)
        self.filters = {name: _guarded(f) for name, f in self.filters.items()}
        self.globals = {"range": self.globals["range"], "dict": self.globals["dict"]}

    def call_binop(self, context, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "*":
            for sequence, count in ((left, right), (right, left)):
                if hasattr(sequence, "__len__") and isinstance(count, int) and len(sequence) * count > OUTPUT_LIMIT:
                    raise _OutputTooLarge
        elif operator_name == "**":
            if isinstance(left, (int, float)) and isinstance(right, (int, float)) and abs(left) > 1:
                if right * math.log2(abs(left)) > 64:
                    raise _OutputTooLarge
        elif operator_name == "%":
            _check_format_string(left)
        return super().call_binop(context, operator_name, left, right)

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - mirrors SandboxedEnvironment.call
        for value in (*args, *kwargs.values()):
            _check_number(value)
        if getattr(__obj, "__name__", "") in ("format", "format_map"):
            _check_format_string(getattr(__obj, "__self__", None))
        return super().call(__context, __obj, *args, **kwargs)


_environments: dict[bool, MailSandbox] = {}


def _environment(html: bool) -> MailSandbox:
    if html not in _environments:
        _environments[html] = MailSandbox(html=html)
    return _environments[html]


def compile_template(source: str, *, html: bool) -> Template:
    """Compile one part; raise TemplateRefused with a clear message if it is not a valid template."""
    if len(source) > SOURCE_LIMIT:
        raise TemplateRefused(gettext("The template is too long (at most %(limit)s characters).", limit=SOURCE_LIMIT))
    try:
        return _environment(html).from_string(source)
    except TemplateSyntaxError as error:
        raise TemplateRefused(gettext("The template has an error on line %(line)s: %(error)s",
                                      line=error.lineno, error=error.message or str(error))) from None
    except (TemplateError, RecursionError, ValueError) as error:
        raise TemplateRefused(gettext("The template cannot be compiled: %(error)s", error=str(error))) from None


def render_template_capped(template: Template, context: Mapping[str, Any]) -> str:
    """Render with generate(), counting the output and stopping at OUTPUT_LIMIT."""
    pieces: list[str] = []
    size = 0
    try:
        for piece in template.generate(**context):
            size += len(piece)
            if size > OUTPUT_LIMIT:
                raise _OutputTooLarge
            pieces.append(piece)
    except _OutputTooLarge:
        raise _too_large() from None
    except SecurityError as error:
        raise TemplateRefused(gettext("The template tries something that is not allowed: %(error)s",
                                      error=str(error))) from None
    except OverflowError:  # the sandbox's range() refuses more than 100,000 items
        raise _too_large() from None
    except (TemplateError, TypeError, ValueError, AttributeError, LookupError, ArithmeticError,
            RecursionError, MemoryError) as error:
        raise TemplateRefused(gettext("The template could not be rendered: %(error)s", error=str(error))) from None
    return "".join(pieces)


def sample_context(html: bool) -> dict[str, Any]:
    """Values like the real ones, for the test render at save time."""
    values: dict[str, Any] = {
        "subject": "Ny workshop i Aarhus", "preheader": "Workshop den 19. september", "language": "da",
        "organisation_name": "Kunst & Kultur", "greeting": "Hej Åse,", "name": "Åse",
        "unsubscribe_url": "https://example.org/unsubscribe/SAMPLE", "manage_url": "https://example.org/manage/SAMPLE",
        "view_in_browser_url": "https://example.org/archive/1", "web_version": False,
    }
    if html:
        values["body_html"] = Markup("<p>Kom til <strong>workshop</strong>.</p>")
        values["event_card_html"] = Markup("<table><tr><td><h2>Workshop</h2></td></tr></table>")
    else:
        values["body_text"] = "Kom til **workshop**."
        values["event_card_text"] = "Workshop\n"
    return values


def check_template(html_source: str, text_source: str) -> None:
    """Refuse, with a clear message, a template pair that fails to compile or to test-render.

    The test render must stay under the output cap, raise no SecurityError, and show the
    unsubscribe link in both parts: every announcement must have a visible one.
    """
    for source, html, label in ((html_source, True, "HTML"), (text_source, False, gettext("text"))):
        try:
            output = render_template_capped(compile_template(source, html=html), sample_context(html))
        except TemplateRefused as error:
            raise TemplateRefused(f"{label}: {error}") from None
        if "https://example.org/unsubscribe/SAMPLE" not in output:
            raise TemplateRefused(gettext(
                "%(part)s: the template must show the unsubscribe link: add {{ unsubscribe_url }}.", part=label))


def render_custom(source: str, context: Mapping[str, Any], *, html: bool) -> str:
    """Compile and render one part of a custom template, or raise TemplateRefused."""
    return render_template_capped(compile_template(source, html=html), context)


__all__ = [
    "HTML_VARIABLES", "OUTPUT_LIMIT", "TEXT_VARIABLES", "TemplateRefused", "check_template", "compile_template",
    "render_custom", "render_template_capped",
]
