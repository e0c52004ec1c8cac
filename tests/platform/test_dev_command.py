"""`make dev`'s command: embedded services, migrations, demo data, clean stop, data kept."""

import os
import signal
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


def start_dev(data_dir, port):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "SMTP_URL", "ENVIRONMENT", "RUN_WORKER_IN_PROCESS"}
    }
    env.update({"PACTLINE_DATA_DIR": str(data_dir), "PORT": str(port), "LOG_LEVEL": "WARNING"})
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "dev"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )  # noqa: S603


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
        env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SMTP_URL", "ENVIRONMENT"}}
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
    assert first.returncode is not None
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
