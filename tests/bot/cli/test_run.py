"""`parkbot run` as a process: it serves, and SIGTERM stops it cleanly (time to stop: bench_hostile.py)."""

import json
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_run_serves_and_stops_on_signal(tmp_path, sig):
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[bot]\ndatabase = "parkbot.db"\n[server]\nport = {port}\n'
        '[[subscribers]]\nid = "console"\nplatform = "console"\nwebhook = "-"\n',
        encoding="utf-8",
    )
    service = subprocess.Popen([sys.executable, "-m", "bot", "run", "-c", str(config)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        seen = []
        for line in service.stderr:  # the log says when the service is up: no guessing with sleeps
            seen.append(line)
            if b"bot.app listening" in line:
                break
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            assert json.loads(response.read())["status"] == "ok", seen
        service.send_signal(sig)
        code = service.wait(timeout=10)  # a hang guard: TimeoutExpired fails the test
    finally:
        if service.poll() is None:
            service.kill()
        _, err = service.communicate()
    err = b"".join(seen) + err
    assert code == 0, err
    assert b"stopped" in err and b"Traceback" not in err


def test_run_with_a_bad_config_exits_2(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[bot]\ntimezone = "Mars/Olympus"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot", "run", "-c", str(config)], cwd=ROOT,
                            capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    assert result.returncode == 2 and result.stderr.startswith("config.toml: bot.timezone:")


@pytest.mark.timeout(30)
def test_parkbot_reload_signals_the_running_service(tmp_path):
    port = free_port()
    config = tmp_path / "config.toml"
    base = (f'[bot]\ndatabase = "parkbot.db"\n[server]\nport = {port}\n'
            '[[subscribers]]\nid = "console"\nplatform = "console"\nwebhook = "-"\n')  # fmt: skip
    config.write_text(base, encoding="utf-8")
    reload = [sys.executable, "-m", "bot", "reload", "-c", str(config)]
    stopped = subprocess.run(reload, cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
    assert stopped.returncode == 1 and stopped.stderr.startswith("parkbot reload: no running service")
    service = subprocess.Popen([sys.executable, "-m", "bot", "run", "-c", str(config)], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    try:
        for line in service.stderr:
            if b"bot.app listening" in line:
                break
        config.write_text(base + '[[sources]]\nid = "gxt"\nurl = "http://127.0.0.1:9/"\ntype = "feed"\n',
                          encoding="utf-8")  # fmt: skip
        result = subprocess.run(reload, cwd=ROOT, capture_output=True, text=True, timeout=30, check=False)
        assert result.returncode == 0 and "asked the running service" in result.stdout
        for line in service.stderr:  # the service says what it did: no guessing with sleeps
            if b"reloaded" in line:
                assert b"sources=1 added=gxt" in line
                break
        service.send_signal(signal.SIGTERM)
        assert service.wait(timeout=10) == 0  # a hang guard
    finally:
        if service.poll() is None:
            service.kill()
        service.communicate()
    assert not (tmp_path / "parkbot.pid").exists()  # removed on the way out
