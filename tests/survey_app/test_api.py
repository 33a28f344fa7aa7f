"""The JSON API: idempotent submission, auth, validation and listing."""
import uuid

import pytest
from sqlalchemy import func, select

from survey_app.extensions import db
from survey_app.models import Response
from survey_app.questionnaire import FORM_VERSION
from tests.conftest import FACILITY_CODE, OTHER_FACILITY_CODE


def body(**overrides):
    data = {
        "id": str(uuid.uuid4()),
        "facility": FACILITY_CODE,
        "answers": {"satisfaction": 1, "establishment": 2, "respondent_group": "welfare",
                    "services": ["job_search", "job_consultation"], "comment": "親切に対応してくれる"},
    }
    data.update(overrides)
    return data


def post(client, device, data, token=None):
    headers = {"Authorization": f"Bearer {token or device['token']}"} if device or token else {}
    return client.post("/api/v1/responses", json=data, headers=headers)


def stored_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Response))


def test_new_response_is_created_and_returned(client, app, device):
    data = body()
    reply = post(client, device, data)
    assert reply.status_code == 201
    record = reply.get_json()
    assert record["id"] == data["id"]
    assert record["facility"] == FACILITY_CODE
    assert record["answers"]["services"] == ["job_consultation", "job_search"]
    assert record["form_version"] == FORM_VERSION
    with app.app_context():
        row = db.session.scalar(select(Response))
        assert row.comment == "親切に対応してくれる"
        assert row.channel == "api"
        assert row.device_id == device["id"]


def test_identical_resend_returns_200_and_stores_once(client, app, device):
    data = body()
    assert post(client, device, data).status_code == 201
    again = post(client, device, data)
    assert again.status_code == 200
    assert again.get_json()["id"] == data["id"]
    assert stored_count(app) == 1


def test_same_id_with_other_content_conflicts(client, app, device):
    data = body()
    assert post(client, device, data).status_code == 201
    changed = {**data, "answers": {**data["answers"], "satisfaction": 4}}
    assert post(client, device, changed).status_code == 409
    with app.app_context():
        assert db.session.scalar(select(Response.satisfaction)) == 1


def test_id_is_compared_in_canonical_form(client, app, device):
    data = body()
    assert post(client, device, data).status_code == 201
    assert post(client, device, {**data, "id": data["id"].upper()}).status_code == 200
    assert stored_count(app) == 1


@pytest.mark.parametrize("change, field", [
    ({"id": "not-a-uuid"}, "id"),
    ({"id": None}, "id"),
    ({"facility": 12}, "facility"),
    ({"facility": "no-such-facility"}, "facility"),
    ({"submitted_at": "yesterday"}, "submitted_at"),
    ({"submitted_at": "2025-05-01T09:30:00"}, "submitted_at"),
    ({"submitted_at": "2999-01-01T00:00:00Z"}, "submitted_at"),
    ({"unexpected": 1}, "unexpected"),
    ({"form_version": 99}, "form_version"),
    ({"answers": {"establishment": 1}}, "answers.satisfaction"),
    ({"answers": {"satisfaction": 5, "establishment": 1}}, "answers.satisfaction"),
    ({"answers": {"satisfaction": True, "establishment": 1}}, "answers.satisfaction"),
    ({"answers": {"satisfaction": "1", "establishment": 1}}, "answers.satisfaction"),
    ({"answers": {"satisfaction": 1, "establishment": 1, "respondent_group": "alien"}}, "answers.respondent_group"),
    ({"answers": {"satisfaction": 1, "establishment": 1, "services": "job_search"}}, "answers.services"),
    ({"answers": {"satisfaction": 1, "establishment": 1, "services": ["teleport"]}}, "answers.services"),
    ({"answers": {"satisfaction": 1, "establishment": 1, "comment": "あ" * 1001}}, "answers.comment"),
    ({"answers": {"satisfaction": 1, "establishment": 1, "comment": "NUL\x00here"}}, "answers.comment"),
    ({"answers": {"satisfaction": 1, "establishment": 1, "comment": 42}}, "answers.comment"),
    ({"answers": {"satisfaction": 1, "establishment": 1, "mood": "good"}}, "answers"),
    ({"answers": ["not", "an", "object"]}, "answers"),
])
def test_invalid_body_gets_422_naming_the_field_and_stores_nothing(client, app, device, change, field):
    reply = post(client, device, body(**change))
    assert reply.status_code == 422
    fields = [error["field"] for error in reply.get_json()["errors"]]
    assert field in fields
    assert all(error["message"] for error in reply.get_json()["errors"])
    assert stored_count(app) == 0


def test_comment_of_exactly_1000_characters_is_accepted(client, device):
    data = body(answers={"satisfaction": 2, "establishment": 2, "comment": "あ" * 1000})
    assert post(client, device, data).status_code == 201


def test_optional_answers_may_be_missing(client, app, device):
    reply = post(client, device, body(answers={"satisfaction": 3, "establishment": 1}))
    assert reply.status_code == 201
    answers = reply.get_json()["answers"]
    assert answers["respondent_group"] is None and answers["services"] == [] and answers["comment"] is None


def test_blank_comment_is_stored_as_none_and_text_is_stored_as_entered(client, app, device):
    post(client, device, body(answers={"satisfaction": 1, "establishment": 1, "comment": "   "}))
    entered = "ＰＣの台数を増やして　ほしい！！"
    post(client, device, body(answers={"satisfaction": 1, "establishment": 1, "comment": entered}))
    with app.app_context():
        comments = db.session.scalars(select(Response.comment).order_by(Response.id)).all()
    assert comments == [None, entered]


def test_submitted_at_with_offset_is_stored_as_utc_with_its_fiscal_year(client, app, device):
    post(client, device, body(submitted_at="2026-04-01T08:30:00+09:00"))
    with app.app_context():
        row = db.session.scalar(select(Response))
    assert row.submitted_at.isoformat() == "2026-03-31T23:30:00"
    # 08:30 on April 1st in Tokyo is already the new fiscal year, though still March in UTC.
    assert row.fiscal_year == 2026


def test_body_that_is_not_json_gets_422(client, app, device):
    reply = client.post("/api/v1/responses", data="satisfaction=1",
                        headers={"Authorization": f"Bearer {device['token']}",
                                 "Content-Type": "application/json"})
    assert reply.status_code == 422
    assert stored_count(app) == 0


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}])
def test_missing_or_unknown_token_gets_401(client, app, device, headers):
    reply = client.post("/api/v1/responses", json=body(), headers=headers)
    assert reply.status_code == 401
    assert "Bearer" in reply.headers["WWW-Authenticate"]
    assert stored_count(app) == 0


def test_token_of_another_facility_gets_403(client, app, other_device):
    reply = post(client, other_device, body(facility=FACILITY_CODE))
    assert reply.status_code == 403
    assert stored_count(app) == 0


def test_revoked_device_token_gets_401(client, app, device, runner):
    assert runner.invoke(args=["devices", "revoke", str(device["id"])]).exit_code == 0
    assert post(client, device, body()).status_code == 401


def test_rate_limit_per_device_answers_429_but_never_for_a_resend(client, app, device):
    app.config["SURVEY_RATE_LIMIT_PER_MINUTE"] = 2
    first = body()
    assert post(client, device, first).status_code == 201
    assert post(client, device, body()).status_code == 201
    limited = post(client, device, body())
    assert limited.status_code == 429 and limited.headers["Retry-After"]
    assert post(client, device, first).status_code == 200
    assert stored_count(app) == 2


def test_oversize_request_is_refused(client, app, device):
    huge = body(answers={"satisfaction": 1, "establishment": 1, "comment": "あ" * 100_000})
    assert post(client, device, huge).status_code == 413
    assert stored_count(app) == 0


def test_api_needs_no_csrf_token_but_form_posts_do(client, device):
    # The API authenticates by bearer token; CSRF applies to cookie-authenticated forms.
    assert post(client, device, body()).status_code == 201


def test_facilities_lists_the_shipped_facilities(client):
    facilities = client.get("/api/v1/facilities").get_json()
    codes = {f["code"] for f in facilities}
    assert {FACILITY_CODE, OTHER_FACILITY_CODE, "ebisu-work-saga", "workport-niigata"} <= codes
    assert all(set(f) == {"code", "name", "prefecture"} for f in facilities)


def test_form_describes_questions_choices_limits_and_version(client):
    form = client.get("/api/v1/form").get_json()
    assert form["version"] == FORM_VERSION
    questions = {q["key"]: q for q in form["questions"]}
    assert list(questions) == ["satisfaction", "establishment", "respondent_group", "services", "comment"]
    assert [c["label"] for c in questions["satisfaction"]["choices"]] == ["満足", "まあ満足", "やや不満", "不満"]
    assert questions["comment"]["max_length"] == 1000
    assert questions["satisfaction"]["required"] and not questions["services"]["required"]
