"""The reference for bench_submissions: a few lines of Flask inserting into sqlite3.

Same durability settings as survey_app (WAL, synchronous=NORMAL, busy_timeout), no validation,
no idempotency, no authentication: the cost floor of 'accept a JSON answer and store it'.
"""
import json
import os
import sqlite3

from flask import Flask, request

app = Flask(__name__)
DATABASE = os.environ["REFERENCE_DATABASE"]


def connect():
    connection = sqlite3.connect(DATABASE, timeout=5)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("PRAGMA busy_timeout=5000")
    return connection


with connect() as setup:
    setup.execute("CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, body TEXT)")


@app.post("/api/v1/responses")
def submit():
    body = request.get_json()
    connection = connect()
    with connection:
        connection.execute("INSERT INTO responses VALUES (?, ?)", (body["id"], json.dumps(body)))
    connection.close()
    return {"id": body["id"]}, 201


@app.get("/healthz")
def healthz():
    return {"status": "ok"}
