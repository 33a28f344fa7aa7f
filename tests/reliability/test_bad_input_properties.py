"""Property-based bad input: thousands of generated bodies never give a 5xx or store anything."""
import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models import Response
from tests.conftest import FACILITY_CODE

HYPOTHESIS = settings(max_examples=1000, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

nasty_text = st.one_of(
    st.text(max_size=50),
    st.text(alphabet=st.characters(blacklist_categories=()), min_size=1, max_size=20),
    st.sampled_from(["\x00", "NUL\x00", "\ud800", "😀" * 600, "あ" * 1001, "\u202e逆", "<script>", "' OR 1=1 --"]),
)
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), nasty_text)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)

bad_answers = st.fixed_dictionaries(
    {"satisfaction": st.one_of(json_values, st.integers(min_value=-5, max_value=10))},
    optional={"establishment": json_values, "respondent_group": json_values, "services": json_values,
              "comment": json_values, "extra": json_values},
)
bodies = st.fixed_dictionaries(
    {},
    optional={
        "id": st.one_of(st.uuids().map(str), json_values),
        "facility": st.one_of(st.just(FACILITY_CODE), st.just("aomori-young-job-plaza"), json_values),
        "submitted_at": st.one_of(st.datetimes().map(lambda d: d.isoformat()), json_values),
        "answers": st.one_of(bad_answers, json_values),
        "form_version": json_values,
    },
)


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response))


def is_valid_by_construction(body) -> bool:
    """True for the rare generated body that is a genuinely acceptable answer."""
    answers = body.get("answers")
    return (isinstance(answers, dict) and answers.get("satisfaction") in (1, 2, 3, 4)
            and not isinstance(answers.get("satisfaction"), bool))


@HYPOTHESIS
@given(body=bodies)
def test_generated_api_bodies_never_5xx_and_errors_store_nothing(app, client, device, body):
    before = stored(app)
    reply = client.post("/api/v1/responses", json=body, headers={"Authorization": f"Bearer {device['token']}"})
    assert reply.status_code < 500
    if reply.status_code >= 400:
        assert stored(app) == before
        assert reply.get_json()["error"]
    else:
        assert is_valid_by_construction(body)


@HYPOTHESIS
@given(raw=st.binary(max_size=300))
def test_raw_bytes_and_invalid_utf8_never_5xx(app, client, device, raw):
    before = stored(app)
    reply = client.post("/api/v1/responses", data=raw, content_type="application/json",
                        headers={"Authorization": f"Bearer {device['token']}"})
    assert reply.status_code in (400, 401, 403, 409, 422)
    assert stored(app) == before


form_values = st.one_of(st.text(max_size=30), st.sampled_from(["1", "5", "", "welfare", "\x00", "あ" * 1001]))


@HYPOTHESIS
@given(fields=st.dictionaries(st.sampled_from(["satisfaction", "establishment", "respondent_group",
                                               "services", "comment", "client_uuid", "other"]),
                              form_values, max_size=7),
       facility=st.sampled_from([FACILITY_CODE, "aomori-young-job-plaza", "no-such-place"]))
def test_generated_form_posts_never_5xx_and_errors_store_nothing(app, client, device, fields, facility):
    app.config["WTF_CSRF_ENABLED"] = False  # reach the validation behind the CSRF check
    client.set_cookie(app.config["DEVICE_COOKIE_NAME"], device["cookie"])
    before = stored(app)
    reply = client.post(f"/f/{facility}", data=fields)
    assert reply.status_code < 500
    if reply.status_code >= 400:
        assert stored(app) == before


def test_oversize_body_is_refused_before_it_is_read(app, client, device):
    # Content-Length alone decides: the server answers 413 without reading 10 MB.
    reply = client.post("/api/v1/responses", data=b"{" + b" " * (10 * 1024 * 1024) + b"}",
                        content_type="application/json",
                        headers={"Authorization": f"Bearer {device['token']}"})
    assert reply.status_code == 413 and reply.get_json()["error"]
    assert stored(app) == 0


@pytest.mark.parametrize("comment", ["😀👍🏽家族👨‍👩‍👧", "𠮷野家の𩸽", "ｶﾀｶﾅ　全角　ＡＢＣ", "改行\nあり\r\nです"])
def test_emoji_surrogate_pairs_and_width_variants_are_stored_as_entered(app, client, device, comment):
    body = {"id": str(uuid.uuid4()), "facility": FACILITY_CODE,
            "answers": {"satisfaction": 1, "establishment": 1, "comment": comment}}
    reply = client.post("/api/v1/responses", data=json.dumps(body), content_type="application/json",
                        headers={"Authorization": f"Bearer {device['token']}"})
    assert reply.status_code == 201
    with app.app_context():
        assert db.session.scalar(select(Response.comment)) == comment.replace("\r\n", "\n")
