"""An OpenCorporates-style registry on 127.0.0.1: companies the test registers are found."""

from __future__ import annotations

from litestar import Litestar, Response, get
from litestar.params import FromPath, FromQuery

from tests.support.threaded import ThreadedServer


class FakeRegistry:
    def __init__(self) -> None:
        self.companies: dict[tuple[str, str], dict] = {}
        self.requests: list[str] = []
        self.fail = False
        self.server = ThreadedServer(self._app(), "fake-registry")

    def add(self, country: str, number: str, name: str, status: str = "Active") -> None:
        self.companies[(country.lower(), number)] = {"name": name, "current_status": status, "company_number": number}

    def _app(self) -> Litestar:
        @get("/companies/{jurisdiction:str}/{number:str}")
        async def company(
            jurisdiction: FromPath[str], number: FromPath[str], api_token: FromQuery[str | None] = None
        ) -> Response:
            self.requests.append(f"{jurisdiction}/{number}?{api_token}")
            if self.fail:
                return Response({"error": "down"}, status_code=503)
            found = self.companies.get((jurisdiction, number))
            if found is None:
                return Response({"error": {"message": "not found"}}, status_code=404)
            return Response({"results": {"company": found}})

        return Litestar([company])

    @property
    def url(self) -> str:
        return self.server.url
