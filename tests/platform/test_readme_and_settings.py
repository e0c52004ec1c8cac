"""The README and .env.example tell the truth: every setting the app reads is documented, every
command they show exists, and every file they point to is in the repository."""

import os
import re
import shutil
import subprocess
from collections.abc import Mapping

from app.cli import main as cli
from app.config import load_settings
from tests.support.live import ROOT

README = (ROOT / "README.md").read_text()


class Recording(Mapping):
    """An empty environment that remembers every variable asked of it."""

    def __init__(self) -> None:
        self.asked: set[str] = set()

    def __getitem__(self, key):
        self.asked.add(key)
        raise KeyError(key)

    def get(self, key, default=None):
        self.asked.add(key)
        return default

    def __contains__(self, key):
        self.asked.add(key)
        return False

    def __iter__(self):
        return iter(())

    def __len__(self):
        return 0


def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if re.match(r"[A-Z][A-Z0-9_]*=", line))


def readme_table_variables() -> set[str]:
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split(" | ")[0])}


def test_every_setting_the_app_reads_is_in_env_example_and_the_readme_table():
    environment = Recording()
    load_settings(environment)
    read = environment.asked
    assert {"ENVIRONMENT", "DATABASE_URL", "PACTLINE_DATA_DIR", "SECRET_KEY"} <= read  # the recording works
    assert sorted(read - env_example().keys()) == [], ".env.example lacks these"
    assert sorted(read - readme_table_variables()) == [], "the README's configuration table lacks these"


def test_env_example_as_written_describes_a_development_machine():
    # Copying it unchanged must work (make dev), and must not claim to be anything but development.
    settings = load_settings(env_example())
    assert settings.is_development


def readme_commands() -> list[str]:
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    lines = [line.split("#", 1)[0].strip() for block in blocks for line in block.splitlines()]
    return [line for line in lines if line]


def test_every_command_the_readme_shows_is_a_make_target_that_exists():
    commands = readme_commands()
    assert len(commands) >= 10
    for command in commands:
        words = command.split()
        assignments = [w for w in words if "=" in w and not w.startswith("ARGS=")]
        assert "make" in words, f"{command!r}: show make targets, which work without uv on the PATH"
        target = words[words.index("make") + 1]
        args = re.search(r'ARGS="([^"]*)"', command)
        dry = subprocess.run(
            ["make", "-n", target, *assignments, *([f"ARGS={args.group(1)}"] if args else [])],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert dry.returncode == 0, f"{command!r}: {dry.stderr}"
        if args:
            assert f"pactline {args.group(1)}" in dry.stdout, dry.stdout


def test_every_pactline_command_the_readme_names_exists():
    named = re.findall(r'ARGS="([^"]*)"', README) + re.findall(r"`(?:\.tools/bin/)?uv run pactline ([^`]*)`", README)
    assert named
    for words in named:
        group = cli
        for word in words.split():
            if not re.fullmatch(r"[a-z][a-z-]*", word) or not hasattr(group, "commands"):
                break
            assert word in group.commands, f"`pactline {words}`: no command {word!r}"
            group = group.commands[word]


def test_make_pactline_runs_the_cli_without_uv_on_the_path():
    uv = os.environ.get("UV") or shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # no uv here: make must use the one it is given or installed
    done = subprocess.run(
        ["make", "pactline", "ARGS=ledger --help", f"UV={uv}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "Walk the whole audit chain" in done.stdout


def test_the_readme_points_only_to_files_in_the_repository_and_lists_each_folder_once():
    assert "../" not in README
    paths = set(re.findall(r"`((?:app|docs|tests|bench|static|templates|migrations)/[^`<>*]*)`", README))
    assert paths
    for path in paths:
        assert (ROOT / path).exists(), f"README names {path}, which is not in the repository"
    read_next = README.split("## Where to read next", 1)[1]
    listed = re.findall(r"^- `([^`]+)`", read_next, flags=re.M)
    assert len(listed) == len(set(listed)), f"listed twice: {sorted(p for p in listed if listed.count(p) > 1)}"
    features = {p.name for p in (ROOT / "app").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert {f"app/{name}/" for name in features - {"web", "mail", "pages"}} <= set(listed)
