"""Not found is said one way: services and controllers raise `app.errors.NotFound`, the web layer
answers 404 (a page, a toast or JSON); nobody translates one "not found" into another."""

import ast
import json
from pathlib import Path

from tests.leads.test_api import api, company_with_key

APP = Path(__file__).resolve().parents[2] / "app"

# The only places the other spellings may appear, and why.
NOT_FOUND_CLASS = {"app/errors.py"}
LITESTAR_NOT_FOUND = {"app/web/errors.py"}  # its handler: the router still raises it for unknown paths
# LookupError keeps its Python meaning in the task registry: no task by that name (not a row).
# So it does in the registry of notification kinds: a kind nobody declared is a bug at the call.
RAISE_LOOKUP_ERROR = {"app/worker/registry.py", "app/worker/outbox.py", "app/notifications/kinds.py"}
CATCH_LOOKUP_ERROR = {"app/worker/outbox.py"}  # a row naming a task a deploy removed is dropped


def _names(node: ast.AST | None) -> set[str]:
    if node is None:
        return set()
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    }


def _offences() -> list[str]:
    found = []
    for path in sorted(APP.rglob("*.py")):
        where = path.relative_to(APP.parent).as_posix()
        tree = ast.parse(path.read_text(), filename=where)
        for node in ast.walk(tree):
            line = f"{where}:{getattr(node, 'lineno', 0)}"
            if isinstance(node, ast.ClassDef) and "NotFound" in node.name and where not in NOT_FOUND_CLASS:
                found.append(f"{line} defines {node.name}: raise app.errors.NotFound")
            elif (
                isinstance(node, ast.Name | ast.Attribute)
                and "NotFoundException" in _names(node)
                and where not in LITESTAR_NOT_FOUND
            ):
                found.append(f"{line} uses Litestar's NotFoundException: raise app.errors.NotFound")
            elif isinstance(node, ast.Raise) and "LookupError" in _names(node.exc) and where not in RAISE_LOOKUP_ERROR:
                found.append(f"{line} raises LookupError: raise app.errors.NotFound")
            elif isinstance(node, ast.ExceptHandler):
                caught = _names(node.type)
                if "LookupError" in caught and where not in CATCH_LOOKUP_ERROR:
                    found.append(f"{line} catches LookupError: let NotFound reach the web layer")
                if "NotFound" in caught and any(
                    isinstance(n, ast.Raise) and "NotFound" in _names(n.exc) for s in node.body for n in ast.walk(s)
                ):
                    found.append(f"{line} turns NotFound into NotFound: let it propagate")
    return found


def test_not_found_is_said_one_way():
    assert _offences() == []


async def test_a_missing_row_is_the_same_404_as_an_unknown_page(client):
    # A contract (contracts), a job (marketplace, once its own exception and handler) and a
    # profile (profiles, once a LookupError) that are not there.
    for path in ("/contracts/999999", "/jobs/999999", "/c/no-such-profile", "/no/such/page"):
        page = await client.get(path)
        assert page.status_code == 404, path
        assert "text/html" in page.headers["content-type"], path
        assert "find that page" in page.text, path

        toast = await client.get(path, headers={"HX-Request": "true"})
        assert toast.status_code == 404 and toast.headers["hx-reswap"] == "none", path
        assert "couldn" in json.loads(toast.headers["hx-trigger"])["toast"]["message"], path


async def test_the_leads_api_answers_404_in_json(app, client):
    key = await company_with_key(client)
    headers = {"Authorization": f"Bearer {key}"}
    async with api(app) as http:
        missing = await http.get("/api/leads/999999", headers=headers)
        assert missing.status_code == 404
        assert missing.json() == {"error": "Not found", "status": 404}

        unknown = await http.get("/api/leads/999999/nothing-here", headers=headers)
        assert unknown.status_code == 404
        assert unknown.json()["status"] == 404
