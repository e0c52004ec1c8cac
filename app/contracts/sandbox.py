"""The contract-template sandbox: Jinja2's immutable sandbox with limits on work, size and time.

Template text comes from company owners and administrators and runs on our servers, so every way
it can make something big or slow is counted here:

- work: each loop iteration, call, operator and filter takes a step from a budget that also
  carries the render's deadline, so a loop nest or a macro that calls itself stops early;
- size: every value the template builds (`*`, `+`, `%`, `~`, `**`, list and dict literals,
  filters, method results) is measured before or right after it is made, and every piece of text
  it outputs — text captured by macros and `{% set %}` blocks included — is counted;
- output: the filled-in text is streamed and cut off at a size cap;
- surface: only `range` (bounded) among the globals, a short list of filters, and string, list
  and dict methods that cannot grow their input.

What this module cannot stop (a C-level operation it did not foresee) is the isolating process's
job: templating.py renders in a child process with a memory ceiling and kills it at the deadline.
This module imports nothing from the app, so that child starts light."""

from __future__ import annotations

import contextvars
import operator
import re
import time
import types
from collections.abc import ItemsView, Iterable, KeysView, Mapping, ValuesView
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2 import filters as jinja_filters
from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import pass_context
from jinja2.visitor import NodeTransformer

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
_METHOD_TYPES = (str, int, float, list, tuple, dict)
_FORBIDDEN = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)


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


_BUDGET: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("template_budget", default=None)


def _budget() -> Budget:
    budget = _BUDGET.get()
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


def _bounded(value: Any) -> Any:
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


def _check_binop(op: str, left: Any, right: Any) -> None:
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


_BINOPS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "//": operator.floordiv,
    "%": operator.mod,
    "**": operator.pow,
}


# ---------------------------------------------------------------- globals and filters


def _range(*args: Any) -> range:
    _budget().tick()
    numbers = range(*args)
    try:
        length = len(numbers)
    except OverflowError:
        length = MAX_RANGE + 1
    if length > MAX_RANGE:
        raise TemplateLimit(f"range() can count at most {MAX_RANGE:,} numbers in a template.")
    return numbers


def _check_arguments(args: Iterable[Any]) -> None:
    for value in args:
        if isinstance(value, int | float) and not isinstance(value, bool) and abs(value) > MAX_ARGUMENT:
            raise TemplateLimit(f"Numbers given to a filter can be at most {MAX_ARGUMENT:,}.")


def _limited(function: Any) -> Any:
    """A built-in filter that takes a step and whose numbers and result are bounded. It asks for the
    context, which also keeps Jinja from running it while compiling (on constants)."""
    passes = getattr(getattr(function, "jinja_pass_arg", None), "name", None)

    @pass_context
    def limited(context: Any, value: Any, *args: Any, **kwargs: Any) -> Any:
        _budget().tick()
        _check_arguments([*args, *kwargs.values()])
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
        return _bounded(result)

    return limited


@pass_context
def _join(context: Any, value: Any, d: str = "", attribute: Any = None) -> str:
    _budget().tick()
    items = list(value)
    if attribute is not None:
        get = jinja_filters.make_attrgetter(context.environment, attribute)
        items = [get(item) for item in items]
    total = len(str(d)) * max(len(items) - 1, 0)
    for item in items:
        total += weight(item)
        if total > MAX_VALUE:
            raise TemplateLimit(TOO_BIG)
    return _bounded(str(d).join(str(item) for item in items))


@pass_context
def _replace(context: Any, value: Any, old: Any, new: Any, count: Any = None) -> str:
    _budget().tick()
    text, old, new = str(value), str(old), str(new)
    found = len(text) + 1 if old == "" else text.count(old)
    if _is_int(count) and count >= 0:
        found = min(found, count)
    if len(text) + found * (len(new) - len(old)) > MAX_VALUE:
        raise TemplateLimit(TOO_BIG)
    return text.replace(old, new, count if _is_int(count) and count >= 0 else -1)


@pass_context
def _format(context: Any, value: Any, *args: Any, **kwargs: Any) -> str:
    _budget().tick()
    if args and kwargs:
        raise TemplateProblem("The format filter takes either values or named values, not both.")
    arguments = kwargs or args
    _check_format(str(value), arguments if kwargs else tuple(args))
    return _bounded(str(value) % (kwargs or args))


# Filters the instrumented template calls (see _Instrument); a template may call them too, harmlessly.
LOOP = "limited_loop"
OUTPUT = "limited_output"
CONCAT = "limited_concat"
VALUE = "limited_value"


@pass_context
def _loop(context: Any, iterable: Any) -> Iterable[Any]:
    budget = _budget()
    for item in iterable:
        budget.tick()
        yield item


@pass_context
def _output(context: Any, value: Any) -> str:
    budget = _budget()
    budget.tick()
    if weight(value) > MAX_VALUE:
        raise TemplateLimit(TOO_BIG)
    text = str(value)
    budget.produced += len(text)
    if budget.produced > MAX_PRODUCED:
        raise TemplateLimit(TOO_MUCH_TEXT)
    return text


@pass_context
def _concat(context: Any, parts: list[Any]) -> str:
    _budget().tick()
    if weight(parts) > MAX_VALUE:
        raise TemplateLimit(TOO_BIG)
    return "".join(str(part) for part in parts)


@pass_context
def _value(context: Any, value: Any) -> Any:
    _budget().tick()
    return _bounded(value)


# ---------------------------------------------------------------- the environment


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """Every operator is intercepted (so none is folded while compiling) and measured; every call
    is checked against what a contract template may call."""

    intercepted_binops = frozenset(_BINOPS)
    intercepted_unops = frozenset({"+", "-"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        _budget().tick()
        _check_binop(operator, left, right)
        return _bounded(_BINOPS[operator](left, right))

    def call_unop(self, context: Any, operator: str, arg: Any) -> Any:
        _budget().tick()
        return _bounded(+arg if operator == "+" else -arg)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        budget = _budget()
        budget.tick()
        if isinstance(__obj, Macro):
            budget.depth += 1
            if budget.depth > MAX_DEPTH:
                raise TemplateLimit(TOO_DEEP)
            try:
                return _bounded(__context.call(__obj, *args, **kwargs))
            finally:
                budget.depth -= 1
        if not _may_call(__obj):
            name = getattr(__obj, "__name__", type(__obj).__name__)
            raise SecurityError(f"“{name}” can't be used in a contract template.")
        if __obj is not _range:  # it has its own, clearer limit
            _check_arguments([*args, *kwargs.values()])
        return _bounded(__context.call(__obj, *args, **kwargs))


def _may_call(obj: Any) -> bool:
    if obj is _range:
        return True
    if isinstance(obj, types.BuiltinMethodType) and isinstance(obj.__self__, _METHOD_TYPES):
        return obj.__name__ in SAFE_METHODS
    if isinstance(obj, types.MethodType) and isinstance(obj.__self__, LoopContext):
        return obj.__name__ in LOOP_METHODS
    return False


def _environment() -> LimitedSandbox:
    env = LimitedSandbox(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True)
    env.globals = {"range": _range}
    builtin = env.filters
    env.filters = {name: _limited(builtin[name]) for name in PLAIN_FILTERS}
    env.filters |= {"join": _join, "replace": _replace, "format": _format}
    env.filters |= {LOOP: _loop, OUTPUT: _output, CONCAT: _concat, VALUE: _value}
    return env


ENV = _environment()


class _Instrument(NodeTransformer):
    """Route loops, outputs, `~` and literals through the measuring filters above."""

    @staticmethod
    def _filter(node: nodes.Expr, name: str) -> nodes.Filter:
        return nodes.Filter(node, name, [], [], None, None, lineno=node.lineno)

    def visit_For(self, node: nodes.For) -> nodes.For:
        self.generic_visit(node)
        node.iter = self._filter(node.iter, LOOP)
        return node

    def visit_Output(self, node: nodes.Output) -> nodes.Output:
        self.generic_visit(node)
        node.nodes = [
            self._filter(
                nodes.Const(child.data, lineno=child.lineno) if isinstance(child, nodes.TemplateData) else child, OUTPUT
            )
            for child in node.nodes
        ]
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Filter:
        self.generic_visit(node)
        return self._filter(nodes.List(node.nodes, lineno=node.lineno), CONCAT)

    def _literal(self, node: nodes.Expr) -> nodes.Expr:
        self.generic_visit(node)
        if isinstance(node, nodes.Tuple) and node.ctx != "load":
            return node
        return self._filter(node, VALUE)

    visit_List = visit_Tuple = visit_Dict = _literal


# ---------------------------------------------------------------- checking and rendering


def _parse(body: str) -> nodes.Template:
    try:
        return ENV.parse(body)
    except TemplateSyntaxError as exc:
        raise TemplateInvalid(f"Line {exc.lineno}: {exc.message}") from exc
    except (ValueError, OverflowError, MemoryError) as exc:  # a number literal of 5,000 digits, say
        raise TemplateInvalid("This template can't be read: a number in it is far too long.") from exc


def _called_names(tree: nodes.Template) -> None:
    """What a template may call, checked when it is saved (the sandbox checks again at run time)."""
    macros = {node.name for node in tree.find_all(nodes.Macro)} | {"caller"}
    for node in tree.find_all(nodes.Call):
        callee = node.node
        if isinstance(callee, nodes.Name) and (callee.name == "range" or callee.name in macros):
            continue
        if isinstance(callee, nodes.Getattr) and callee.attr in SAFE_METHODS | LOOP_METHODS:
            continue
        name = callee.name if isinstance(callee, nodes.Name) else getattr(callee, "attr", "this")
        raise TemplateInvalid(f"Line {node.lineno}: “{name}” can't be used in a contract template.")


def check_template(body: str, declared: set[str]) -> None:
    """Nothing, or TemplateInvalid naming the line to fix."""
    _compiled(body, declared)


def _compiled(body: str, declared: set[str]) -> types.CodeType:
    """The template compiled with its measuring filters, or TemplateInvalid."""
    try:
        return _checked_code(body, declared)
    except TemplateSyntaxError as exc:  # also an unknown filter, found while looking for placeholders
        raise TemplateInvalid(f"Line {exc.lineno}: {exc.message}") from exc
    except RecursionError as exc:  # the parser, the checks and the compiler all walk the tree
        raise TemplateInvalid(NESTED_TOO_DEEPLY) from exc


def _checked_code(body: str, declared: set[str]) -> types.CodeType:
    tree = _parse(body)
    for node in tree.find_all(_FORBIDDEN):
        raise TemplateInvalid(f"Line {node.lineno}: templates cannot include, import or extend other templates.")
    for node in tree.find_all(nodes.Getattr):
        if node.attr.startswith("_"):
            raise TemplateInvalid(f"Line {node.lineno}: “{node.attr}” is not allowed in a template.")
    for node in tree.find_all(nodes.For):
        if node.recursive:
            raise TemplateInvalid(f"Line {node.lineno}: recursive loops can't be used in a contract template.")
    _called_names(tree)
    undeclared = sorted(meta.find_undeclared_variables(tree) - declared)
    if undeclared:
        raise TemplateInvalid("These placeholders are not declared: " + ", ".join(undeclared) + ".")
    tree = _Instrument().visit(tree)
    tree.set_environment(ENV)
    return ENV.compile(tree)


def _template_line(exc: BaseException) -> str:
    """ "Line N: " for the template line that was running, from Jinja's rewritten traceback."""
    line, tb = None, exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"Line {line}: " if line else ""


def render_here(body: str, declared: set[str], values: Mapping[str, Any], *, deadline: float) -> str:
    """Fill the template in this process, within the limits above. Runs in the isolating child
    process (templating.py); call it directly only from tests."""
    code = _compiled(body, declared)
    missing = sorted(name for name in declared if name not in values)
    if missing:
        raise TemplateProblem("Fill in: " + ", ".join(missing) + ".")
    template = ENV.template_class.from_code(ENV, code, ENV.make_globals(None), None)
    token = _BUDGET.set(Budget(deadline=deadline))
    try:
        chunks, size = [], 0
        for chunk in template.generate({name: values[name] for name in declared}):
            size += len(chunk)
            if size > MAX_OUTPUT:
                raise TemplateLimit(TOO_LONG)
            if time.monotonic() > deadline:
                raise TemplateLimit(TOO_SLOW)
            chunks.append(chunk)
        return "".join(chunks).strip() + "\n"
    except TemplateLimit as exc:
        raise TemplateLimit(_template_line(exc) + str(exc)) from None
    except RecursionError as exc:
        raise TemplateLimit(_template_line(exc) + TOO_DEEP) from None
    except MemoryError:
        raise TemplateLimit(TOO_MUCH_MEMORY) from None
    except TemplateProblem:
        raise
    except (UndefinedError, SecurityError) as exc:
        raise TemplateProblem(_template_line(exc) + str(exc)) from None
    except Exception as exc:  # a type error, a division by zero: the author's to fix, never ours
        raise TemplateProblem(f"{_template_line(exc)}This template could not be filled in: {exc}") from None
    finally:
        _BUDGET.reset(token)
