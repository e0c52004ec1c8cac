"""The template edit form: read as typed (a refused form comes back exactly as it was sent); the
store checks it (app/contracts/templates/services.py `checked`) before anything is written."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.contracts.templates.templating import ContractTemplate, Placeholder
from app.web.forms import text


@dataclass(frozen=True)
class TemplateForm:
    """The edit form as typed, so a refused form comes back exactly as it was sent."""

    title: str = ""
    kind: str = ""
    body: str = ""
    placeholders: str = ""

    @classmethod
    def of(cls, template: ContractTemplate) -> TemplateForm:
        return cls(template.title, template.kind, template.body, placeholder_lines(template.placeholders))


def placeholder_lines(placeholders: tuple[Placeholder, ...]) -> str:
    return "\n".join(f"{p.name} | {p.label}" for p in placeholders)


def read_template(data: dict[str, Any]) -> TemplateForm:
    return TemplateForm(text(data, "title"), text(data, "kind"), text(data, "body"), text(data, "placeholders"))


def wants_preview(data: dict[str, Any]) -> bool:
    """The form's Preview button rather than Save."""
    return text(data, "action") == "preview"
