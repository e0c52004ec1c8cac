"""Contract templates: Jinja2 in a sandbox, limited to the placeholders a template declares.

A template that uses an undeclared placeholder, reaches for private attributes, or includes
other templates is refused when it is saved, with the line to fix — not when someone renders
a contract from it."""

from __future__ import annotations

from dataclasses import dataclass, field

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True, lstrip_blocks=True)
_FORBIDDEN = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)


class TemplateProblem(ValueError):
    """Why a template cannot be used, in words a template author can act on."""


@dataclass(frozen=True)
class Placeholder:
    name: str
    label: str


@dataclass(frozen=True)
class ContractTemplate:
    key: str
    title: str
    kind: str  # milestone | retainer | rider
    body: str
    placeholders: tuple[Placeholder, ...] = field(default_factory=tuple)

    @property
    def declared(self) -> set[str]:
        return {p.name for p in self.placeholders}


def check_template(body: str, declared: set[str]) -> None:
    try:
        tree = _ENV.parse(body)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"Line {exc.lineno}: {exc.message}") from exc
    for node in tree.find_all(_FORBIDDEN):
        raise TemplateProblem(f"Line {node.lineno}: templates cannot include, import or extend other templates.")
    for node in tree.find_all(nodes.Getattr):
        if node.attr.startswith("_"):
            raise TemplateProblem(f"Line {node.lineno}: “{node.attr}” is not allowed in a template.")
    undeclared = sorted(meta.find_undeclared_variables(tree) - declared)
    if undeclared:
        raise TemplateProblem("These placeholders are not declared: " + ", ".join(undeclared) + ".")


def render(template: ContractTemplate, values: dict[str, object]) -> str:
    check_template(template.body, template.declared)
    missing = sorted(name for name in template.declared if name not in values)
    if missing:
        raise TemplateProblem("Fill in: " + ", ".join(missing) + ".")
    try:
        return _ENV.from_string(template.body).render({k: values[k] for k in template.declared}).strip() + "\n"
    except (UndefinedError, SecurityError) as exc:
        raise TemplateProblem(str(exc)) from exc
