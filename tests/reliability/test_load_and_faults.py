"""Nothing lost, nothing doubled: many clients, re-sends and a SIGKILLed server.

These run a real gunicorn with 2 workers on loopback, against SQLite by default and against
PostgreSQL when TEST_DATABASE_URL is set (see scripts/with-postgres).
"""
import http.client
import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.reliability.server import (GunicornServer, count_by_uuid, make_body, prepare_database,
                                      request)

pytestmark = pytest.mark.database

FACILITIES = ["kawaguchi-employment-support-corner", "aomori-young-job-plaza",
              "ebisu-work-saga", "workport-niigata"]
CLIENTS = 16
RESPONSES = int(os.environ.get("LOAD_TEST_RESPONSES", 10_000))
RESEND_SHARE = 0.10


@pytest.fixture
def tokens(database_url):
    return prepare_database(database_url, FACILITIES)


def planned_requests(count: int, seed: int = 7) -> tuple[list[tuple[str, dict]], list[dict]]:
    """Unique bodies plus ~10% identical re-sends, shuffled so re-sends race the originals."""
    rng = random.Random(seed)
    bodies = [make_body(FACILITIES[i % len(FACILITIES)], i) for i in range(count)]
    sends = [(b["facility"], b) for b in bodies]
    sends += [(b["facility"], b) for b in rng.sample(bodies, int(count * RESEND_SHARE))]
    rng.shuffle(sends)
    return sends, bodies


def send_all(address, tokens, sends, statuses: Counter, acknowledged: set, lock, stop_event=None,
             retry_until_acknowledged=False):
    """Post each body from CLIENTS threads on keep-alive connections; record what was answered."""
    chunks = [sends[i::CLIENTS] for i in range(CLIENTS)]

    def worker(chunk):
        connection = http.client.HTTPConnection(*address, timeout=30)
        for facility, body in chunk:
            while True:
                if stop_event is not None and stop_event.is_set():
                    return
                try:
                    status, _ = request(address, "POST", "/api/v1/responses", body, tokens[facility],
                                        connection=connection)
                except (OSError, http.client.HTTPException):
                    connection.close()
                    if not retry_until_acknowledged:
                        break
                    time.sleep(0.2)
                    connection = http.client.HTTPConnection(*address, timeout=30)
                    continue
                with lock:
                    statuses[status] += 1
                    if status in (200, 201):
                        acknowledged.add(body["id"])
                if status == 503 and retry_until_acknowledged:
                    time.sleep(0.2)
                    continue
                break
        connection.close()

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(worker, chunks))


def test_concurrent_clients_with_resends_store_each_response_exactly_once(database_url, tokens, tmp_path):
    server = GunicornServer(database_url, workers=2, log_path=tmp_path / "gunicorn.log").start()
    sends, bodies = planned_requests(RESPONSES)
    statuses, acknowledged, lock = Counter(), set(), threading.Lock()
    try:
        send_all(server.address, tokens, sends, statuses, acknowledged, lock)
    finally:
        server.stop()
    assert not [s for s in statuses if s >= 500], f"server errors: {statuses}"
    assert set(statuses) <= {200, 201}, statuses
    assert statuses[201] == len(bodies) and statuses[200] == len(sends) - len(bodies)
    stored = count_by_uuid(database_url)
    assert len(stored) == len(bodies), "lost or extra responses"
    assert set(stored) == {b["id"] for b in bodies}
    assert set(stored.values()) == {1}, "a response was stored twice"


def test_sigkill_mid_load_loses_no_acknowledged_response(database_url, tokens, tmp_path):
    log = tmp_path / "gunicorn.log"
    server = GunicornServer(database_url, workers=2, log_path=log).start()
    sends, bodies = planned_requests(max(RESPONSES // 4, 400), seed=11)
    statuses, acknowledged, lock = Counter(), set(), threading.Lock()
    stop_event = threading.Event()
    loader = threading.Thread(target=send_all, args=(server.address, tokens, sends, statuses, acknowledged,
                                                     lock, stop_event))
    loader.start()
    while len(acknowledged) < len(bodies) // 3 and loader.is_alive():
        time.sleep(0.01)
    server.kill()
    stop_event.set()
    loader.join()
    acknowledged_before_kill = set(acknowledged)
    assert acknowledged_before_kill, "the load never started"

    # Restart on the same port, as a supervisor would, and let every client retry until answered.
    restarted = GunicornServer(database_url, workers=2, log_path=log)
    restarted.port = server.port
    restarted.start()
    try:
        send_all(restarted.address, tokens, sends, statuses, acknowledged, lock, retry_until_acknowledged=True)
    finally:
        restarted.stop()
    stored = count_by_uuid(database_url)
    assert acknowledged_before_kill <= set(stored), "a response acknowledged before the kill is missing"
    assert set(stored) == {b["id"] for b in bodies}
    assert set(stored.values()) == {1}
    assert not [s for s in statuses if s >= 500 and s != 503], statuses
