"""/dev/mail: the development mail catcher's inbox (never mounted in production)."""

from __future__ import annotations

from litestar import Controller, Request, Response, get
from litestar.params import FromPath, FromQuery

from app.errors import NotFound
from app.mail.catcher import parse_caught, read_caught
from app.web.templating import render


def _mail_dir(request: Request):
    return request.app.state.settings.data_dir / "mail"


class DevMailController(Controller):
    path = "/dev/mail"

    @get("/", name="dev:mail")
    async def inbox(self, request: Request, id: FromQuery[str | None] = None) -> Response:
        messages = read_caught(_mail_dir(request))
        selected = next((m for m in messages if m.id == id), messages[0] if messages else None)
        html_url = (
            request.app.route_reverse("dev:mail-html", message_id=selected.id) if selected and selected.html else None
        )
        return render(
            request, "dev/mail.html", {"messages": messages, "selected": selected, "selected_html_url": html_url}
        )

    @get("/{message_id:str}/html", name="dev:mail-html")
    async def message_html(self, request: Request, message_id: FromPath[str]) -> Response:
        path = _mail_dir(request) / f"{message_id}.eml"
        if not message_id.replace("-", "").isalnum() or not path.is_file():
            raise NotFound()
        html = parse_caught(path).html or ""
        # Shown inside a sandboxed iframe; e-mail HTML uses inline styles, which the page CSP forbids.
        return Response(
            html,
            media_type="text/html",
            headers={
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'",
                "X-Frame-Options": "SAMEORIGIN",
            },
        )
