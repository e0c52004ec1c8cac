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

import time
import types
from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import LoopContext, Macro
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.visitor import NodeTransformer

from app.contracts.templates.limits import (
    BINOPS,
    BUDGET,
    CONCAT,
    FORBIDDEN,
    LOOP,
    LOOP_METHODS,
    MAX_DEPTH,
    MAX_OUTPUT,
    METHOD_TYPES,
    NESTED_TOO_DEEPLY,
    OUTPUT,
    PLAIN_FILTERS,
    SAFE_METHODS,
    TOO_DEEP,
    TOO_LONG,
    TOO_MUCH_MEMORY,
    TOO_SLOW,
    VALUE,
    Budget,
    TemplateInvalid,
    TemplateLimit,
    TemplateProblem,
    bounded,
    check_arguments,
    check_binop,
    current_budget,
    limited,
    limited_concat,
    limited_format,
    limited_join,
    limited_loop,
    limited_output,
    limited_range,
    limited_replace,
    limited_value,
)

# ---------------------------------------------------------------- the environment


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """Every operator is intercepted (so none is folded while compiling) and measured; every call
    is checked against what a contract template may call."""

    intercepted_binops = frozenset(BINOPS)
    intercepted_unops = frozenset({"+", "-"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        current_budget().tick()
        check_binop(operator, left, right)
        return bounded(BINOPS[operator](left, right))

    def call_unop(self, context: Any, operator: str, arg: Any) -> Any:
        current_budget().tick()
        return bounded(+arg if operator == "+" else -arg)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        budget = current_budget()
        budget.tick()
        if isinstance(__obj, Macro):
            budget.depth += 1
            if budget.depth > MAX_DEPTH:
                raise TemplateLimit(TOO_DEEP)
            try:
                return bounded(__context.call(__obj, *args, **kwargs))
            finally:
                budget.depth -= 1
        if not _may_call(__obj):
            name = getattr(__obj, "__name__", type(__obj).__name__)
            raise SecurityError(f"“{name}” can't be used in a contract template.")
        if __obj is not limited_range:  # it has its own, clearer limit
            check_arguments([*args, *kwargs.values()])
        return bounded(__context.call(__obj, *args, **kwargs))


def _may_call(obj: Any) -> bool:
    if obj is limited_range:
        return True
    if isinstance(obj, types.BuiltinMethodType) and isinstance(obj.__self__, METHOD_TYPES):
        return obj.__name__ in SAFE_METHODS
    if isinstance(obj, types.MethodType) and isinstance(obj.__self__, LoopContext):
        return obj.__name__ in LOOP_METHODS
    return False


def _environment() -> LimitedSandbox:
    env = LimitedSandbox(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True)
    env.globals = {"range": limited_range}
    builtin = env.filters
    env.filters = {name: limited(builtin[name]) for name in PLAIN_FILTERS}
    env.filters |= {"join": limited_join, "replace": limited_replace, "format": limited_format}
    env.filters |= {LOOP: limited_loop, OUTPUT: limited_output, CONCAT: limited_concat, VALUE: limited_value}
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
    for node in tree.find_all(FORBIDDEN):
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
    token = BUDGET.set(Budget(deadline=deadline))
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
        BUDGET.reset(token)
