"""Custom mail templates saved by admins: rendered in Jinja's immutable sandbox, with an output cap.

A custom template is staff input, so it gets the same distrust as any other: it runs in
`ImmutableSandboxedEnvironment` (no private attributes, no mutating lists or dicts), every
undefined name is an error, operators and calls that could build a huge value are checked
*before* they run, and the output is counted while it is generated and abandoned at the cap.

A render is also bounded in work (issue 10): every loop iteration and every call is a step,
and a render (or a whole save-time check) stops after STEP_LIMIT steps or TIME_LIMIT seconds;
`range` gives at most MAX_RANGE numbers; `~`, `+`, string methods and filters may not build a
value over VALUE_LIMIT characters; whole numbers stay under MAX_INT_BITS bits.
"""
from __future__ import annotations

import contextlib
import functools
import math
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from flask_babel import gettext
from jinja2 import StrictUndefined, Template, TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer
from markupsafe import Markup

from mailer.languages import LANGUAGES

OUTPUT_LIMIT = 512 * 1024  # characters of output per part
SOURCE_LIMIT = 60_000      # characters of source per part
VALUE_LIMIT = 4 * OUTPUT_LIMIT  # characters in any value built on the way
STEP_LIMIT = 200_000       # loop iterations and calls per render (or per save-time check)
TIME_LIMIT = 1.0           # seconds per render (or per save-time check)
MAX_RANGE = 10_000         # numbers one range() may give
MAX_INT_BITS = 4096        # bits in a whole number made by * or **

# What CompiledMailing hands every template; per-recipient values arrive as markers.
HTML_VARIABLES = (
    "subject", "preheader", "language", "organisation_name", "greeting", "name", "unsubscribe_url",
    "manage_url", "view_in_browser_url", "body_html", "event_card_html", "web_version", "frequency_note",
)
TEXT_VARIABLES = (
    "subject", "preheader", "language", "organisation_name", "greeting", "name", "unsubscribe_url",
    "manage_url", "view_in_browser_url", "body_text", "event_card_text", "web_version", "frequency_note",
)
_BIG_NUMBER = re.compile(r"\d{6,}")  # a width or precision of 100000+ in a format string


class TemplateRefused(ValueError):
    """The template cannot be used; the message says why, for the admin."""


class _OutputTooLarge(Exception):
    pass


class _TooMuchWork(Exception):
    pass


def _too_large() -> TemplateRefused:
    return TemplateRefused(gettext("The template produces too much output (more than %(limit)s KB).",
                                   limit=OUTPUT_LIMIT // 1024))


def _too_much_work() -> TemplateRefused:
    return TemplateRefused(gettext(
        "The template does too much work (more than %(steps)s loop steps and calls, or %(seconds)s s), so it was stopped.",
        steps=f"{STEP_LIMIT:,}", seconds=TIME_LIMIT))


class _Budget:
    """Steps and time left for one render, or for every render of one save-time check."""

    def __init__(self) -> None:
        self.steps = 0
        self.deadline = time.monotonic() + TIME_LIMIT

    def tick(self) -> None:
        self.steps += 1
        if self.steps > STEP_LIMIT or (self.steps & 255 == 0 and time.monotonic() > self.deadline):
            raise _TooMuchWork


_budget: ContextVar[_Budget | None] = ContextVar("template_budget", default=None)


@contextlib.contextmanager
def _budgeted() -> Iterator[_Budget]:
    """Run the renders inside under one budget (a new one unless one is running already)."""
    current = _budget.get()
    if current is not None:
        yield current
        return
    budget = _Budget()
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def _tick() -> None:
    budget = _budget.get()
    if budget is not None:
        budget.tick()


def _size(value: Any) -> int:
    try:
        return len(value) if isinstance(value, (str, bytes, list, tuple, dict, set, frozenset, range)) else 1
    except TypeError:
        return 1


def _check_size(value: Any) -> Any:
    if _size(value) > VALUE_LIMIT:
        raise _OutputTooLarge
    return value


def _check_growth(base: Any, args: Iterable[Any]) -> None:
    """Refuse a call whose result could be about len(base) times its largest argument (replace, indent, ...)."""
    factor = 1
    for value in args:
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)) and math.isfinite(value):
            factor = max(factor, int(abs(value)))
        elif isinstance(value, str):
            factor = max(factor, len(value))
    if (_size(base) + 1) * factor > VALUE_LIMIT:
        raise _OutputTooLarge


# Filters and str methods whose result can be about len(value) times an argument.
_GROWING_FILTERS = frozenset({"do_indent", "do_center", "do_replace", "do_join", "do_format"})
_GROWING_METHODS = frozenset({"replace", "join", "center", "ljust", "rjust", "zfill", "expandtabs"})


def _budgeted_iter(iterable: Any) -> Iterator[Any]:
    """What a {% for %} loops over: one step per item."""
    for item in iterable:
        _tick()
        yield item


def _sized(value: Any) -> Any:
    """What `a ~ b` gives: refused above VALUE_LIMIT (doubling a string in a few lines)."""
    return _check_size(value)


def _range(*args: Any) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise _TooMuchWork
    return numbers


class _Bounded(NodeTransformer):
    """Make every loop step count (and time-checked), and check the size of every `~`."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        node = self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_mailer_budgeted", [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        node = self.generic_visit(node)
        return nodes.Filter(node, "_mailer_sized", [], [], None, None, lineno=node.lineno)


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
        if function.__name__ in _GROWING_FILTERS and len(args) >= first_option:
            _check_growth(args[first_option - 1], (*args[first_option:], *kwargs.values()))
        _tick()
        return _check_size(function(*args, **kwargs))

    return wrapper


class MailSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus checks on the operators and calls that can blow up memory."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, *, html: bool) -> None:
        super().__init__(autoescape=html, undefined=StrictUndefined, keep_trailing_newline=True)
        self.filters = {name: _guarded(f) for name, f in self.filters.items()}
        self.filters["_mailer_budgeted"] = _budgeted_iter
        self.filters["_mailer_sized"] = _sized
        self.globals = {"range": _range, "dict": self.globals["dict"]}

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        return _Bounded().visit(super()._parse(source, name, filename))

    def call_binop(self, context, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "*":
            for sequence, count in ((left, right), (right, left)):
                if hasattr(sequence, "__len__") and isinstance(count, int) and len(sequence) * count > OUTPUT_LIMIT:
                    raise _OutputTooLarge
            if isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
                raise _OutputTooLarge
        elif operator_name == "**":
            if isinstance(left, (int, float)) and isinstance(right, (int, float)) and abs(left) > 1:
                if right * math.log2(abs(left)) > 64:
                    raise _OutputTooLarge
        elif operator_name == "%":
            _check_format_string(left)
            if isinstance(left, str):
                # A width or precision given as an argument ("%*s" % (10**9, "")).
                values = right.values() if isinstance(right, Mapping) else right if isinstance(right, tuple) else (right,)
                for value in values:
                    _check_number(value)
        _tick()
        return _check_size(super().call_binop(context, operator_name, left, right))

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - mirrors SandboxedEnvironment.call
        for value in (*args, *kwargs.values()):
            _check_number(value)
        if getattr(__obj, "__name__", "") in ("format", "format_map"):
            _check_format_string(getattr(__obj, "__self__", None))
        bound_to = getattr(__obj, "__self__", None)
        if isinstance(bound_to, str) and getattr(__obj, "__name__", "") in _GROWING_METHODS:
            _check_growth(bound_to, (*args, *kwargs.values()))  # "x".replace("x", big), "\t".expandtabs(n)
        _tick()
        return _check_size(super().call(__context, __obj, *args, **kwargs))


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
    """Render with generate(), counting the output and stopping at OUTPUT_LIMIT, within the step and time budget."""
    pieces: list[str] = []
    size = 0
    try:
        with _budgeted() as budget:
            for piece in template.generate(**context):
                size += len(piece)
                if size > OUTPUT_LIMIT:
                    raise _OutputTooLarge
                pieces.append(piece)
                budget.tick()
    except _OutputTooLarge:
        raise _too_large() from None
    except _TooMuchWork:
        raise _too_much_work() from None
    except SecurityError as error:
        raise TemplateRefused(gettext("The template tries something that is not allowed: %(error)s",
                                      error=str(error))) from None
    except OverflowError:  # the sandbox's range() refuses more than 100,000 items
        raise _too_large() from None
    except (TemplateError, TypeError, ValueError, AttributeError, LookupError, ArithmeticError,
            RecursionError, MemoryError) as error:
        raise TemplateRefused(gettext("The template could not be rendered: %(error)s", error=str(error))) from None
    return "".join(pieces)


def sample_context(html: bool, language: str = "da", *, web_version: bool = False, named: bool = True) -> dict[str, Any]:
    """Values like the real ones, for the test render at save time."""
    values: dict[str, Any] = {
        "subject": "Ny workshop i Aarhus", "preheader": "Workshop den 19. september", "language": language,
        "organisation_name": "Kunst & Kultur", "greeting": "Hej Åse," if named else "Hej,", "name": "Åse" if named else "",
        "unsubscribe_url": "https://example.org/unsubscribe/SAMPLE", "manage_url": "https://example.org/manage/SAMPLE",
        "view_in_browser_url": "" if web_version else "https://example.org/archive/1", "web_version": web_version,
        "frequency_note": "" if web_version else "Du får denne mail, fordi du har valgt alle udsendelser.",
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
    unsubscribe link in both parts: every announcement must have a visible one. It renders in
    every language, as mailed and as the web version, with and without a name (the contexts
    sends and previews use), all within one step and time budget.
    """
    contexts = [(language, web_version, named) for language in LANGUAGES
                for web_version, named in ((False, True), (False, False), (True, False))]
    with _budgeted():
        for source, html, label in ((html_source, True, "HTML"), (text_source, False, gettext("text"))):
            template = None
            for language, web_version, named in contexts:
                try:
                    template = template or compile_template(source, html=html)
                    output = render_template_capped(
                        template, sample_context(html, language, web_version=web_version, named=named))
                except TemplateRefused as error:
                    raise TemplateRefused(f"{label}: {error}") from None
                if not web_version and "https://example.org/unsubscribe/SAMPLE" not in output:
                    raise TemplateRefused(gettext(
                        "%(part)s: the template must show the unsubscribe link: add {{ unsubscribe_url }}.",
                        part=label))


def render_custom(source: str, context: Mapping[str, Any], *, html: bool) -> str:
    """Compile and render one part of a custom template, or raise TemplateRefused."""
    return render_template_capped(compile_template(source, html=html), context)


__all__ = [
    "HTML_VARIABLES", "OUTPUT_LIMIT", "TEXT_VARIABLES", "TemplateRefused", "check_template", "compile_template",
    "render_custom", "render_template_capped",
]
