"""Submissions per second under load: survey_app vs a minimal reference app, same run.

    python benchmarks/bench_submissions.py [--responses 5000] [--clients 16] [--quick]

Both apps run under gunicorn with 2 workers on SQLite (WAL, synchronous=NORMAL) and receive
the same bodies from the same 16 client threads. Prints throughput, p50/p99 latency and the
ratio survey_app / reference (target: at least 0.5).
"""
import argparse
import http.client
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.reliability.server import (GunicornServer, free_port, make_body,  # noqa: E402
                                      prepare_database, request)

FACILITY = "kawaguchi-employment-support-corner"


def load(address, bodies, token, clients):
    latencies, statuses, lock = [], [], threading.Lock()

    def worker(chunk):
        connection = http.client.HTTPConnection(*address, timeout=30)
        for body in chunk:
            start = time.perf_counter()
            status, _ = request(address, "POST", "/api/v1/responses", body, token, connection=connection)
            elapsed = time.perf_counter() - start
            with lock:
                latencies.append(elapsed)
                statuses.append(status)
        connection.close()

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, [bodies[i::clients] for i in range(clients)]))
    wall = time.perf_counter() - start
    latencies.sort()
    return {
        "throughput": len(bodies) / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
        "errors": sum(1 for s in statuses if s >= 300),
    }


def run_reference(bodies, clients, workdir):
    port = free_port()
    env = {**os.environ, "REFERENCE_DATABASE": str(Path(workdir) / "reference.sqlite3"),
           "PYTHONPATH": str(REPO / "benchmarks")}
    process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--workers", "2",
                                "--bind", f"127.0.0.1:{port}", "reference_app:app"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        for _ in range(300):
            try:
                if request(("127.0.0.1", port), "GET", "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        return load(("127.0.0.1", port), bodies, None, clients)
    finally:
        os.killpg(process.pid, 15)
        process.wait()


def run_survey_app(bodies, clients, workdir):
    url = f"sqlite:///{Path(workdir) / 'survey.sqlite3'}"
    token = prepare_database(url, [FACILITY])[FACILITY]
    server = GunicornServer(url, workers=2).start()
    try:
        return load(server.address, bodies, token, clients)
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="1,000 responses")
    args = parser.parse_args()
    count = 1000 if args.quick else args.responses
    bodies = [make_body(FACILITY, i) for i in range(count)]
    with tempfile.TemporaryDirectory() as workdir:
        reference = run_reference(bodies, args.clients, workdir)
        survey = run_survey_app(bodies, args.clients, workdir)
    print(f"{count} submissions from {args.clients} clients, gunicorn 2 workers, SQLite WAL")
    for name, result in (("reference", reference), ("survey_app", survey)):
        print(f"  {name:11s} {result['throughput']:8.0f} req/s   p50 {result['p50_ms']:6.1f} ms"
              f"   p99 {result['p99_ms']:6.1f} ms   non-2xx {result['errors']}")
    ratio = survey["throughput"] / reference["throughput"]
    print(f"  ratio survey_app/reference throughput: {ratio:.2f} (target >= 0.5)")


if __name__ == "__main__":
    main()
