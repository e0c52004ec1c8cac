"""`make dev`'s command: embedded services, migrations, demo data, clean stop, data kept; a busy
port, a second `make dev` and the leftovers of a killed one."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import httpx
import psutil

from tests.support.live import ROOT, free_port


def processes_using(path: str) -> list[str]:
    found = []
    for proc in psutil.process_iter(["cmdline", "name"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if path in cmdline:
            found.append(f"{proc.pid} {cmdline}")
    return found


# Set by the tests for themselves (conftest's test_env); a developer's shell has none of them.
TEST_ONLY = {"DATABASE_URL", "REDIS_URL", "SMTP_URL", "ENVIRONMENT", "RUN_WORKER_IN_PROCESS", "PASSWORD_HASH_PROFILE"}


def dev_env(data_dir, port):
    """A developer's shell: none of the variables the tests set for themselves."""
    env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
    env.update({"PACTLINE_DATA_DIR": str(data_dir), "PORT": str(port), "LOG_LEVEL": "WARNING"})
    return env


def start_dev(data_dir, port):
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "dev"],
        cwd=ROOT,
        env=dev_env(data_dir, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # noqa: S603


def run_dev(data_dir, port, timeout=60):
    """A `make dev` expected to give up: its exit code, output and how long it took."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "dev"],
        cwd=ROOT,
        env=dev_env(data_dir, port),
        capture_output=True,
        text=True,
        timeout=timeout,
    )  # noqa: S603
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


def wait_healthy(process, url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read().decode()
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError("dev server did not come up")


def sign_in_works(url) -> bool:
    with httpx.Client(base_url=url) as http:
        page = http.get("/login")
        token = page.text.split('name="csrf-token" content="')[1].split('"')[0]
        response = http.post(
            "/login", data={"_csrf_token": token, "email": "client@pactline.test", "password": "pactline-demo-2026"}
        )
        return response.status_code == 303 and http.get("/dashboard").status_code == 200


def stop(process, sig=signal.SIGINT):
    process.send_signal(sig)
    output = process.communicate(timeout=60)[0].decode()
    return output


def test_dev_serves_demo_data_stops_cleanly_and_keeps_data(tmp_path):
    data_dir = tmp_path / "d"
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    first = start_dev(data_dir, port)
    try:
        wait_healthy(first, url)
        assert httpx.get(f"{url}/ready").status_code == 200
        assert sign_in_works(url)
        # A CLI command reuses the running services; the in-process worker sends the mail to
        # the local catcher, and /dev/mail shows it.
        env = {k: v for k, v in os.environ.items() if k not in TEST_ONLY}
        sent = subprocess.run(
            [sys.executable, "-m", "app.cli", "send-test-email", "someone@example.test"],
            cwd=ROOT,
            env={**env, "PACTLINE_DATA_DIR": str(data_dir)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sent.returncode == 0, sent.stderr
        for _ in range(100):
            inbox = httpx.get(f"{url}/dev/mail").text
            if "Pactline test message" in inbox:
                break
            time.sleep(0.1)
        assert "Pactline test message" in inbox and "someone@example.test" in inbox
        assert processes_using(str(data_dir)), "the CLI must not stop services make dev owns"
    finally:
        stop(first)
    assert first.returncode == 0, "Ctrl-C is the normal way to stop make dev"
    time.sleep(0.5)
    assert processes_using(str(data_dir)) == [], "Ctrl-C left embedded services running"

    # Second run: reuses the data (the seeded accounts sign in), SIGTERM stops it as cleanly.
    second = start_dev(data_dir, port)
    try:
        wait_healthy(second, url)
        assert sign_in_works(url)
    finally:
        stop(second, signal.SIGTERM)
    time.sleep(0.5)
    assert processes_using(str(data_dir)) == []
    assert (data_dir / "postgres" / "PG_VERSION").exists()


def test_dev_on_a_busy_port_says_so_at_once_and_starts_nothing(tmp_path):
    data_dir = tmp_path / "d"
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]

        code, output, seconds = run_dev(data_dir, port)

    assert code != 0
    assert f"Port {port} is in use" in output and "make dev" in output and "PORT=" in output
    assert "Traceback" not in output
    assert "Pactline is running" not in output
    assert seconds < 15, f"took {seconds:.0f}s to give up"
    # Nothing was started, so nothing was created or left behind.
    assert not (data_dir / "postgres").exists() and not (data_dir / "redis").exists()
    assert processes_using(str(data_dir)) == []


def test_a_second_dev_on_the_same_data_is_refused_and_the_first_keeps_serving(tmp_path):
    data_dir = tmp_path / "d"
    port, other_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"

    first = start_dev(data_dir, port)
    try:
        wait_healthy(first, url)
        code, output, _ = run_dev(data_dir, other_port)
        assert code != 0
        assert f"Pactline is already running on port {port} (pid {first.pid})" in output
        assert "Traceback" not in output
        # The refused one touched nothing of the first one's services.
        assert httpx.get(f"{url}/ready").status_code == 200
        assert sign_in_works(url)
    finally:
        stop(first)
    time.sleep(0.5)
    assert processes_using(str(data_dir)) == []


def test_dev_recovers_after_it_and_its_postgres_were_killed(tmp_path):
    """A closed terminal or the OOM killer: no clean stop, so the postmaster.pid, the sockets and a
    Redis with nobody holding it are left behind. The next `make dev`, seconds later, must start."""
    data_dir = tmp_path / "d"
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    first = start_dev(data_dir, port)
    try:
        wait_healthy(first, url)
        postmaster = int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
    finally:
        first.kill()
        first.wait(timeout=10)
    os.kill(postmaster, signal.SIGKILL)
    assert (data_dir / "postgres" / "postmaster.pid").exists()
    assert processes_using(str(data_dir)), "Redis outlives a killed make dev (its own session)"

    second = start_dev(data_dir, port)
    try:
        wait_healthy(second, url)
        assert httpx.get(f"{url}/ready").status_code == 200
        assert sign_in_works(url), "the data of the killed run is still there"
    finally:
        output = stop(second)
    assert second.returncode == 0, output
    time.sleep(0.5)
    assert processes_using(str(data_dir)) == [], "the services left by the killed run must be stopped too"


def test_ctrl_c_to_the_whole_process_group_through_uv_still_stops_everything(tmp_path):
    """`make dev` runs under `uv run`; signalled as a group without a terminal (an IDE, a process
    manager), uv forwards the SIGINT the child already got. The late second one must not break off
    the shutdown of Postgres and Redis."""
    uv = os.environ.get("UV") or shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    data_dir = tmp_path / "d"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    group = subprocess.Popen(
        [uv, "run", "--frozen", "--no-sync", "pactline", "dev"],
        cwd=ROOT,
        env=dev_env(data_dir, port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # noqa: S603
    try:
        wait_healthy(group, url)
    finally:
        os.killpg(group.pid, signal.SIGINT)
        output = group.communicate(timeout=60)[0].decode()
    assert group.returncode == 0, output
    assert "Aborted" not in output
    time.sleep(0.5)
    assert processes_using(str(data_dir)) == []
