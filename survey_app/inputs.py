"""Bounds on what a request can carry: body size without Content-Length, JSON depth, integers.

Each guard turns input the app cannot handle into an ordinary client error (the usual 4xx
pages and JSON bodies of `errors.py` and the API) instead of an exception deep in a view.
"""
import re

from flask import Flask, Request, abort, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter
from werkzeug.utils import cached_property
from werkzeug.wsgi import LimitedStream, get_input_stream

# The largest INTEGER of PostgreSQL (SQLite's are 64-bit): every id and year column fits.
MAX_DATABASE_INT = 2**31 - 1
INTEGER_PATTERN = re.compile(r"-?[0-9]+")


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` that matches only numbers a database column can hold; others are a 404."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        max = MAX_DATABASE_INT if max is None else max
        super().__init__(map, fixed_digits, min, max, signed)


def int_arg(name: str) -> int | None:
    """The query parameter `name` as an int; None when missing or not a whole number.

    A number beyond what any column holds cannot come from our own links: 400.
    """
    raw = request.args.get(name, "").strip()
    if not INTEGER_PATTERN.fullmatch(raw):
        return None
    if len(raw) > 11 or abs(int(raw)) > MAX_DATABASE_INT:
        abort(400)
    return int(raw)


class _ChunkedBodyLimit(LimitedStream):
    """A body without Content-Length (chunked), refused with 413 once it passes the limit.

    Werkzeug's own stream stops silently at the limit, so an oversized chunked body would
    be read truncated, as if it were malformed.
    """

    def __init__(self, stream, max_length: int):
        # One byte past the limit tells a body of exactly the limit from a longer one.
        super().__init__(stream, max_length + 1, is_max=True)
        self.max_length = max_length

    def readinto(self, buffer) -> int | None:
        size = super().readinto(buffer)
        if self.tell() > self.max_length:
            raise RequestEntityTooLarge()
        return size


class BoundedRequest(Request):
    """Flask's request, with a stream that also bounds bodies sent without Content-Length."""

    @cached_property
    def stream(self):
        limit = self.max_content_length
        if limit is not None and self.content_length is None and "wsgi.input_terminated" in self.environ:
            return _ChunkedBodyLimit(self.environ["wsgi.input"], limit)
        return get_input_stream(self.environ, max_content_length=limit)


class BoundedJSONProvider(DefaultJSONProvider):
    """Flask's JSON, failing on deeply nested input the way it fails on any unreadable JSON."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            # json recurses once per [ or {: a deeply nested body is just unreadable JSON.
            raise ValueError("JSON nested too deeply") from None


def init_app(app: Flask) -> None:
    """Install the guards; before the blueprints, whose routes use the int converter."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.request_class = BoundedRequest
    app.json = BoundedJSONProvider(app)
