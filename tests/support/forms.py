"""The forms a page renders, read the way a browser would submit them: action, method, encoding
and every named field (hidden, select, checkbox, file, textarea, a named submit button), plus the
htmx requests (`hx-post`, `hx-get`) its elements make with the fields of their form."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit


@dataclass
class Field:
    name: str
    kind: str  # the input's type ("text", "hidden", "checkbox", "file", …), "select" or "textarea"
    value: str = ""
    options: list[str] = field(default_factory=list)  # a select's option values
    checked: bool = False  # a checkbox or radio that is ticked when the page loads

    @property
    def submitted_by_default(self) -> bool:
        """Whether a browser sends this field when the person submits the form untouched."""
        if self.kind in ("checkbox", "radio"):
            return self.checked
        return self.kind not in ("submit", "button", "image", "reset", "file")


@dataclass
class Form:
    action: str  # a path on this site
    method: str  # "GET" or "POST"
    multipart: bool
    fields: list[Field] = field(default_factory=list)

    def values(self) -> dict[str, str | list[str]]:
        """What the browser sends for the untouched form (several values under one name become a list)."""
        sent: dict[str, str | list[str]] = {}
        for f in self.fields:
            if not f.submitted_by_default:
                continue
            value = f.value if f.kind != "select" else (f.value or (f.options[0] if f.options else ""))
            if f.name in sent:
                previous = sent[f.name]
                sent[f.name] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                sent[f.name] = value
        return sent

    def names(self) -> list[str]:
        return list(dict.fromkeys(f.name for f in self.fields))


class _FormParser(HTMLParser):
    def __init__(self, page_path: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: list[Form] = []
        self._open: list[Form] = []  # forms being read
        self._by_id: dict[str, Form] = {}
        self._htmx: list[tuple[str, str, Form | None, str]] = []  # method, url, enclosing form, hx-include
        self._select: Field | None = None
        self._textarea: Field | None = None

    def _path(self, url: str) -> str | None:
        absolute = urljoin("http://testserver" + self.page_path, url)
        parts = urlsplit(absolute)
        if parts.netloc != "testserver":
            return None  # another site (an OAuth provider, say): not ours to sweep
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "option":
            if self._select is not None:
                self._select.options.append(a.get("value", ""))
                if "selected" in a:
                    self._select.value = a.get("value", "")
            return
        current = self._open[-1] if self._open else None
        if tag == "form":
            action = self._path(a.get("action") or self.page_path)
            form = Form(
                action=action or "",
                method=(a.get("method") or "get").upper(),
                multipart="multipart" in (a.get("enctype") or ""),
            )
            self._open.append(form)
            if action is not None:
                self.forms.append(form)
            if a.get("id"):
                self._by_id[a["id"]] = form
            current = form
        for verb in ("get", "post", "put", "patch", "delete"):
            if a.get(f"hx-{verb}"):
                self._htmx.append((verb.upper(), a[f"hx-{verb}"], current, a.get("hx-include", "")))
        name = a.get("name")
        if current is None or not name:
            return
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            current.fields.append(Field(name, kind, a.get("value", "on" if kind == "checkbox" else ""),
                                        checked="checked" in a))  # fmt: skip
        elif tag == "button" and (a.get("type") or "submit").lower() == "submit":
            current.fields.append(Field(name, "submit", a.get("value", "")))
        elif tag == "select":
            self._select = Field(name, "select")
            current.fields.append(self._select)
        elif tag == "textarea":
            self._textarea = Field(name, "textarea")
            current.fields.append(self._textarea)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "form":
            self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._open:
            self._open.pop()
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def close(self) -> None:
        super().close()
        for method, url, enclosing, include in self._htmx:
            action = self._path(url)
            if action is None:
                continue
            included = self._by_id.get(include.removeprefix("#")) if include.startswith("#") else None
            source = included or enclosing
            fields = list(source.fields) if source is not None else []
            multipart = bool(source and source.multipart)
            self.forms.append(Form(action=action, method=method, multipart=multipart, fields=fields))


def forms_on(html: str, page_path: str) -> list[Form]:
    """Every form and htmx request on a page, with actions resolved against the page's path."""
    parser = _FormParser(page_path)
    parser.feed(html)
    parser.close()
    return parser.forms
