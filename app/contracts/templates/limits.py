"""The contract-template sandbox's limits: how much work, text, value size and time one render
may take, the problems it reports, and the measuring filters and hooks the sandbox routes every
loop, output, operator and value through (sandbox.py). Imports nothing from the app."""

from __future__ import annotations

import contextvars
import operator
import re
import time
import types
from collections.abc import ItemsView, Iterable, KeysView, Mapping, ValuesView
from dataclasses import dataclass
from typing import Any

from jinja2 import filters as jinja_filters
from jinja2 import nodes
from jinja2.utils import pass_context

# Generous for contract text, small enough that nothing a template does costs real time or memory.
MAX_STEPS = 20_000  # loop iterations, calls, operators and filters in one render
MAX_RANGE = 1_000  # items in one range()
MAX_VALUE = 100_000  # characters (or items) in one value the template builds
MAX_PRODUCED = 500_000  # characters of text produced in one render, captured text included
MAX_OUTPUT = 40_000  # characters of filled-in text
MAX_DIGITS = 30  # in a number a template computes
_NUMBER_BITS = 100  # 2**100 > 10**30: enough to refuse a power before computing it
MAX_DEPTH = 30  # macros calling macros
MAX_ARGUMENT = 1_000  # numbers passed to filters (widths, lengths, precision)
MAX_FORMAT_WIDTH = 999  # padding in "%10s"-style formats
SECONDS = 2.0  # time to fill in everything one request renders

TOO_MUCH_WORK = (
    f"This template repeats too much (more than {MAX_STEPS:,} steps in its loops and macros). Make its loops shorter."
)
TOO_SLOW = f"This template takes too long to fill in (more than {SECONDS:g} seconds). Make its loops shorter."
TOO_BIG = f"This template builds a text or list that is too long (more than {MAX_VALUE:,} characters)."
TOO_MUCH_TEXT = f"This template produces too much text (more than {MAX_PRODUCED:,} characters)."
TOO_LONG = f"The filled-in text is too long (more than {MAX_OUTPUT:,} characters)."
TOO_LARGE_NUMBER = f"Numbers in a template can have at most {MAX_DIGITS} digits."
TOO_DEEP = f"Macros call each other too deeply (more than {MAX_DEPTH} levels)."
NESTED_TOO_DEEPLY = "This template nests brackets, tags or filters too deeply."
TOO_MUCH_MEMORY = "This template needs too much memory to fill in. Make its loops and texts shorter."

# Methods that can't make a value bigger than the one they are called on (more or less).
SAFE_METHODS = frozenset(
    {
        "capitalize", "casefold", "count", "endswith", "find", "get", "index", "isalnum", "isalpha",
        "isdigit", "islower", "isspace", "isupper", "items", "keys", "lower", "lstrip", "rfind", "rsplit",
        "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper", "values",
    }
)  # fmt: skip
LOOP_METHODS = frozenset({"cycle", "changed"})
# Filters a contract needs; the others (center, indent, wordwrap, batch, slice, striptags, …) can
# turn a short input into a huge or slow one and are simply not there.
PLAIN_FILTERS = (
    "abs", "capitalize", "count", "d", "default", "e", "escape", "first", "float", "int", "last", "length",
    "list", "lower", "max", "min", "reverse", "round", "sort", "string", "title", "trim", "truncate", "unique",
    "upper", "wordcount",
)  # fmt: skip
METHOD_TYPES = (str, int, float, list, tuple, dict)
FORBIDDEN = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)


class TemplateProblem(ValueError):
    """Why a template cannot be used, in words a template author can act on."""


class TemplateInvalid(TemplateProblem):
    """The text itself is wrong: a syntax error, a forbidden tag, an undeclared placeholder."""


class TemplateLimit(TemplateProblem):
    """Filling the template in would take too much work, time, memory or text."""


# ---------------------------------------------------------------- the budget of one render


@dataclass
class Budget:
    deadline: float
    steps: int = 0
    produced: int = 0
    depth: int = 0

    def tick(self) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise TemplateLimit(TOO_MUCH_WORK)
        if time.monotonic() > self.deadline:
            raise TemplateLimit(TOO_SLOW)


BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("template_budget", default=None)


def current_budget() -> Budget:
    budget = BUDGET.get()
    if budget is None:  # only render_here sets one; anything else running template code fails closed
        raise TemplateLimit(TOO_SLOW)
    return budget


def weight(value: Any, limit: int = MAX_VALUE) -> int:
    """Roughly how many characters `value` is when written out, counting shared parts every time
    they appear. Stops counting once past `limit`, so it costs at most about `limit` steps."""
    total, stack = 0, [value]
    while stack and total <= limit:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, bool) or item is None:
            total += 1
        elif isinstance(item, int):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, range):
            try:
                total += 2 * len(item)
            except OverflowError:
                return limit + 1
        elif isinstance(item, Mapping):
            total += 2 + len(item)
            if len(item) > limit:
                return limit + 1
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset | KeysView | ValuesView | ItemsView):
            total += 2 + len(item)
            if len(item) > limit:
                return limit + 1
            stack.extend(item)
        else:
            total += 1
    return total


def bounded(value: Any) -> Any:
    if _is_int(value) and (value.bit_length() > _NUMBER_BITS or abs(value) >= 10**MAX_DIGITS):
        raise TemplateLimit(TOO_LARGE_NUMBER)
    if weight(value) > MAX_VALUE:
        raise TemplateLimit(TOO_BIG)
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# ---------------------------------------------------------------- operators


_FORMAT_SPEC = re.compile(
    r"%(?:\((?P<key>[^)]*)\))?[#0\- +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d+))?[hlL]?(?P<conversion>.)",
    re.DOTALL,
)


def _check_format(template: str, arguments: Any) -> None:
    """`template % arguments` stays under MAX_VALUE: each conversion adds at most its padding and
    the value it refers to (a mapping key may be used many times, so count every use)."""
    if not isinstance(template, str):
        return
    positional = list(arguments) if isinstance(arguments, tuple) else [arguments]
    mapping = arguments if isinstance(arguments, Mapping) else {}
    total, index = len(template), 0
    for match in _FORMAT_SPEC.finditer(template):
        if match["conversion"] == "%":
            continue
        width, precision = match["width"] or "0", match["precision"] or "0"
        if "*" in (width, precision) or max(int(width), int(precision)) > MAX_FORMAT_WIDTH:
            raise TemplateLimit(f"Formats can pad a value to at most {MAX_FORMAT_WIDTH} characters.")
        if match["key"] is not None:
            value = mapping.get(match["key"], "") if isinstance(mapping, Mapping) else ""
        else:
            value = positional[index] if index < len(positional) else ""
            index += 1
        total += max(int(width), int(precision)) + weight(value)
        if total > MAX_VALUE:
            raise TemplateLimit(TOO_BIG)


def check_binop(op: str, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be too big, before Python builds it."""
    numbers = _is_int(left) and _is_int(right)
    if op == "**":
        if numbers and right > 0 and max(left.bit_length(), 1) * right > _NUMBER_BITS:
            raise TemplateLimit(TOO_LARGE_NUMBER)
        if isinstance(right, int | float) and abs(right) > _NUMBER_BITS:
            raise TemplateLimit(TOO_LARGE_NUMBER)
    elif op == "*":
        if numbers:
            if left.bit_length() + right.bit_length() > _NUMBER_BITS + 1:
                raise TemplateLimit(TOO_LARGE_NUMBER)
        elif _is_int(right) or isinstance(right, bool):
            if right > 0 and weight(left) * right > MAX_VALUE:
                raise TemplateLimit(TOO_BIG)
        elif _is_int(left) or isinstance(left, bool):
            if left > 0 and weight(right) * left > MAX_VALUE:
                raise TemplateLimit(TOO_BIG)
    elif op == "+":
        if not numbers and weight(left) + weight(right) > MAX_VALUE:
            raise TemplateLimit(TOO_BIG)
    elif op == "%" and isinstance(left, str):
        _check_format(left, right)


BINOPS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
}


# ---------------------------------------------------------------- globals and filters


def limited_range(*args: Any) -> range:
    current_budget().tick()
    numbers = range(*args)
    try:
        length = len(numbers)
    except OverflowError:
        length = MAX_RANGE + 1
    if length > MAX_RANGE:
        raise TemplateLimit(f"range() can count at most {MAX_RANGE:,} numbers in a template.")
    return numbers


def check_arguments(args: Iterable[Any]) -> None:
    for value in args:
        if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_ARGUMENT:
            raise TemplateLimit(f"Numbers given to a filter can be at most {MAX_ARGUMENT:,}.")


def limited(function: Any) -> Any:
    """A built-in filter that takes a step and whose numbers and result are bounded. It asks for the
    context, which also keeps Jinja from running it while compiling (on constants)."""
    passes = getattr(getattr(function, "jinja_pass_arg", None), "name", None)

    @pass_context
    def limited(context: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        current_budget().tick()
        check_arguments([*args, *kwargs.values()])
        if passes == "context":
            result = function(context, value, *args, **kwargs)
        elif passes == "eval_context":
            result = function(context.eval_ctx, value, *args, **kwargs)
        elif passes == "environment":
            result = function(context.environment, value, *args, **kwargs)
        else:
            result = function(value, *args, **kwargs)
        if isinstance(result, types.GeneratorType):
            result = list(result)  # a lazy result is measured like the list it stands for
        return bounded(result)

    return limited


@pass_context
def limited_join(context: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    current_budget().tick()
    items = list(value)
    if attribute is not None:
        get = jinja_filters.make_attrgetter(context.environment, attribute)
        items = [get(item) for item in items]
    total = len(str(d)) * max(len(items) - 1, 0)
    for item in items:
        total += weight(item)
        if total > MAX_VALUE:
            raise TemplateLimit(TOO_BIG)
    return bounded(str(d).join(str(item) for item in items))


@pass_context
def limited_replace(context: Any, value: Any, old: Any, new: Any, count: Any = None) -> str:
    current_budget().tick()
    text, old, new = str(value), str(old), str(new)
    found = len(text) + 1 if old == "" else text.count(old)
    if _is_int(count) and count >= 0:
        found = min(found, count)
    if len(text) + found * (len(new) - len(old)) > MAX_VALUE:
        raise TemplateLimit(TOO_BIG)
    return text.replace(old, new, count if _is_int(count) and count >= 0 else -1)


@pass_context
def limited_format(context: Any, value: Any, *args: Any, **kwargs: Any) -> str:
    current_budget().tick()
    if args and kwargs:
        raise TemplateProblem("The format filter takes either values or named values, not both.")
    arguments = kwargs or args
    _check_format(str(value), arguments if kwargs else tuple(args))
    return bounded(str(value) % (kwargs or args))


# Filters the instrumented template calls (see _Instrument); a template may call them too, harmlessly.
LOOP = "limited_loop"
OUTPUT = "limited_output"
CONCAT = "limited_concat"
VALUE = "limited_value"


@pass_context
def limited_loop(context: Any, iterable: Any) -> Iterable[Any]:
    budget = current_budget()
    for item in iterable:
        budget.tick()
        yield item


@pass_context
def limited_output(context: Any, value: Any) -> str:
    budget = current_budget()
    budget.tick()
    if weight(value) > MAX_VALUE:
        raise TemplateLimit(TOO_BIG)
    text = str(value)
    budget.produced += len(text)
    if budget.produced > MAX_PRODUCED:
        raise TemplateLimit(TOO_MUCH_TEXT)
    return text


@pass_context
def limited_concat(context: Any, parts: list[Any]) -> str:
    current_budget().tick()
    if weight(parts) > MAX_VALUE:
        raise TemplateLimit(TOO_BIG)
    return "".join(str(part) for part in parts)


@pass_context
def limited_value(context: Any, value: Any) -> Any:
    current_budget().tick()
    return bounded(value)
