"""Code without a request builds paths from route names, and gets what the running app would."""

from __future__ import annotations

from app.web.urls import path_for


def _sample(parameter_type: type) -> object:
    return 7 if parameter_type is int else "abc"


async def test_every_named_route_reverses_to_the_same_path_as_the_app(app):
    checked = 0
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not handler.name or handler.name == "static":
                continue
            definitions = route.path_parameters
            definitions = definitions.values() if isinstance(definitions, dict) else definitions
            params = {p.name: _sample(p.type) for p in definitions}
            assert path_for(handler.name, **params) == app.route_reverse(handler.name, **params)
            checked += 1
    assert checked > 100


async def test_a_contract_path_is_built_from_its_name():
    assert path_for("contracts:detail", contract_id=42) == "/contracts/42"
    assert path_for("contracts:amendment", contract_id=42, amendment_id=3) == "/contracts/42/amendments/3"
