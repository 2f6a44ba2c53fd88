#!/usr/bin/env python3
"""The appliance figures for the README: cold start to READY=1 and resident memory at idle.

Usage: scripts/appliance-figures.py [BINARY] [RUNS]   (default target/release/shelftalk, 5 runs)

Each run provisions a fresh temp data dir with the demo catalog, starts `BINARY run` on a private
tmux server (the screen needs a terminal) with NOTIFY_SOCKET pointing at a datagram socket bound
here, and times spawn -> READY=1 (the health gate has passed). After the first READY it waits
IDLE_SECS and reads VmRSS from /proc. SIGTERM ends each run; STOPPING=1 is awaited.
"""
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/shelftalk"))
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
MODEL = os.path.join(ROOT, "models/gemma-3-270m-q4_k_m-en-zh.gguf")
IDLE_SECS = 10


def sh(*args, stdin=None):
    subprocess.run(args, cwd=ROOT, check=True, input=stdin, text=True, capture_output=True)


def wait_for(sock, line, timeout):
    deadline = time.monotonic() + timeout
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        msg = sock.recv(4096).decode()
        if msg.startswith("STATUS=health gate failed"):
            sys.exit(msg)
        if line in msg.splitlines():
            return time.monotonic()


def one_run(i, measure_rss):
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "data")
        sh(BIN, "--data-dir", data, "provision", "--plain-keys", "--store", "s1", "--kiosk", "k1", stdin="246810\n")
        config = os.path.join(data, "kiosk.toml")
        sh(BIN, "--config", config, "import", "catalog", "demo/catalog.csv")
        path = os.path.join(tmp, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        server = f"shelftalk-figures-{os.getpid()}-{i}"
        cmd = (f"exec env NOTIFY_SOCKET={path} SHELFTALK_MODEL_PATH={MODEL} "
               f"SHELFTALK_HQ_URL=http://127.0.0.1:9 {BIN} --config {config} run")
        start = time.monotonic()
        subprocess.run(["tmux", "-L", server, "-f", "/dev/null", "new-session", "-d",
                        "-x", "100", "-y", "30", cmd], check=True, cwd=ROOT)
        try:
            ready = wait_for(sock, "READY=1", 300) - start
            pid = subprocess.run(["tmux", "-L", server, "display-message", "-p", "#{pane_pid}"],
                                 check=True, capture_output=True, text=True).stdout.strip()
            rss_kb = None
            if measure_rss:
                time.sleep(IDLE_SECS)
                with open(f"/proc/{pid}/status") as f:
                    rss_kb = next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
            os.kill(int(pid), 15)
            wait_for(sock, "STOPPING=1", 60)
            return ready, rss_kb
        finally:
            subprocess.run(["tmux", "-L", server, "kill-server"], capture_output=True)


def main():
    readies, rss = [], None
    for i in range(RUNS):
        ready, kb = one_run(i, measure_rss=(i == 0))
        rss = rss or kb
        readies.append(ready)
        print(f"run {i + 1}: READY=1 after {ready * 1000:.0f} ms", flush=True)
    size = os.path.getsize(BIN)
    print(f"binary {BIN}: {size / 1e6:.1f} MB")
    print(f"cold start to READY=1: median {statistics.median(readies) * 1000:.0f} ms "
          f"(min {min(readies) * 1000:.0f}, max {max(readies) * 1000:.0f}, {RUNS} runs)")
    print(f"resident memory at idle ({IDLE_SECS} s after READY=1): {rss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
