"""Comment search matches only what the reader sees: the masked comment, NFKC."""
import uuid
from datetime import date

import pytest
from flask_migrate import upgrade
from sqlalchemy import inspect, select, text, update

from analysis.masking import masked_for_search
from survey_app import demo
from survey_app.data import demo_comments
from survey_app.extensions import db
from survey_app.models import Facility, Response

from ..conftest import FACILITY_CODE
from .reports_fixtures import *  # noqa: F401,F403
from .reports_fixtures import FISCAL_YEAR, _response, _tokyo_to_utc, data_elements
from .test_survey_form import submit, use_device

FY = f"fy={FISCAL_YEAR}"
PHONE = "090-1234-5678"
EMAIL = "sato@example.jp"
# Typed with half-width katakana and full-width digits: the masks must hold for these too.
WIDE_COMMENT = "ﾀﾅｶさんが親切でした。電話０９０－８７６５－４３２１、ＰＣの台数を増やしてほしい"
PII = "ﾀﾅｶさんの電話は０９０－１２３４－５６７８、mail tanaka@example.jp"


def total(client, query: str) -> int:
    response = client.get(f"/reports/{FACILITY_CODE}?{FY}&q={query}")
    assert response.status_code == 200
    return int(data_elements(response.get_data(as_text=True), "data-total")[0]["data-total"])


def add_comment(app, comment: str) -> None:
    with app.app_context():
        facility = db.session.scalar(select(Facility).where(Facility.code == FACILITY_CODE))
        db.session.add(_response(facility.id, _tokyo_to_utc(2024, 6, 20), 1, 1, None, comment))
        db.session.commit()


@pytest.mark.parametrize("secret", [PHONE, EMAIL, "佐藤さん"])
def test_prefixes_of_masked_data_count_like_a_random_string(manager_client, known_data, secret):
    # PII_COMMENT holds 佐藤さん, 090-1234-5678 and sato@example.jp, all masked on the page.
    decoy = total(manager_client, "ランダム文字列" + uuid.uuid4().hex)
    assert decoy == 0
    for length in range(2, len(secret) + 1):
        assert total(manager_client, secret[:length]) == decoy, secret[:length]


def test_full_width_and_half_width_queries_cannot_reach_masked_data(app, manager_client, known_data):
    add_comment(app, WIDE_COMMENT)
    for query in ("ﾀﾅｶ", "タナカ", "０９０－８７６５", "090-8765-4321", "4321"):
        assert total(manager_client, query) == 0, query


def test_search_finds_the_visible_text_in_any_width(app, manager_client, known_data):
    add_comment(app, WIDE_COMMENT)
    assert total(manager_client, "ＰＣの台数") == 1
    assert total(manager_client, "pcの台数") == 1
    assert total(manager_client, "親切でした") == 2  # and PII_COMMENT's visible part
    # The masks are what the reader sees, so they can be searched for.
    assert total(manager_client, "［電話番号］") == total(manager_client, "[電話番号]") == 2
    assert total(manager_client, "〇〇さん") == 2


def stored(app) -> list[tuple[str, str | None]]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            select(Response.comment, Response.comment_masked).order_by(Response.id))]


def test_every_insert_path_stores_the_masked_form(app, client, device):
    use_device(client, app, device)
    assert submit(client, {"satisfaction": "1", "establishment": "1", "comment": PII}).status_code in (302, 303)
    answers = {"satisfaction": 1, "establishment": 1, "respondent_group": None, "services": [],
               "comment": PII}
    for headers in ({"Authorization": f"Bearer {device['token']}"},  # API clients
                    {"X-Survey-Client": "tablet"}):  # the tablet's offline queue (device cookie)
        reply = client.post("/api/v1/responses", headers=headers, json={
            "id": str(uuid.uuid4()), "facility": FACILITY_CODE, "answers": answers})
        assert reply.status_code == 201, reply.get_json()
    rows = stored(app)
    assert len(rows) == 3
    for comment, masked in rows:
        assert comment == PII  # stored as entered
        assert masked == masked_for_search(PII) == "〇〇さんの電話は[電話番号]、mail [メールアドレス]"


@pytest.mark.parametrize("native", [False, True])
def test_demo_loader_stores_the_masked_form(app, native):
    if native and not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("the pre-formatted driver path is SQLite only")
    with app.app_context():
        facilities = list(db.session.scalars(select(Facility)))
        rows = demo.generate_demo_rows(facilities, 2000, 5, date(2025, 6, 1))
        demo.write_demo_rows(rows, native_sqlite=native)
    pairs = stored(app)
    assert len(pairs) == 2000
    assert all(masked == masked_for_search(comment) for comment, masked in pairs)
    named = [masked for comment, masked in pairs
             if comment and any(f"{name}さん" in comment for name in demo_comments.SURNAMES)]
    assert named and not any(f"{name}さん" in masked for masked in named
                             for name in demo_comments.SURNAMES)


def test_migration_backfills_the_masked_form_of_stored_answers(app):
    with app.app_context():
        db.drop_all()
        upgrade(revision="0004")
        facility_id = db.session.execute(text(
            "INSERT INTO facilities (code, name, prefecture, municipality, operator_kind, "
            "start_fiscal_year, target_groups) VALUES ('f', '施設', '東京都', '千代田区', 'municipal', "
            "2012, '[]') RETURNING id")).scalar_one()
        for index, comment in enumerate([PII, None, WIDE_COMMENT]):
            db.session.execute(text(
                "INSERT INTO responses (client_uuid, facility_id, form_version, source, submitted_at, "
                "received_at, fiscal_year, satisfaction, establishment, services, comment, content_hash) "
                "VALUES (:uuid, :facility, 1, 'api', '2024-06-01 01:00:00', '2024-06-01 01:00:00', "
                "2024, 1, 1, '[]', :comment, :hash)"),
                {"uuid": str(uuid.uuid4()), "facility": facility_id, "comment": comment,
                 "hash": f"{index:064d}"})
        db.session.commit()
        upgrade()
        assert "comment_masked" in {c["name"] for c in inspect(db.engine).get_columns("responses")}
        rows = db.session.execute(text("SELECT comment, comment_masked FROM responses ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [(PII, masked_for_search(PII)), (None, None),
                                                (WIDE_COMMENT, masked_for_search(WIDE_COMMENT))]
        db.session.execute(text("DROP TABLE alembic_version"))
        db.session.commit()


def test_remask_rewrites_a_stale_search_form(app, runner, manager_client, known_data):
    # As if stored under older masking rules that did not know half-width katakana names.
    add_comment(app, WIDE_COMMENT)
    with app.app_context():
        db.session.execute(update(Response).where(Response.comment == WIDE_COMMENT)
                           .values(comment_masked="タナカさんが親切でした"))
        db.session.commit()
    assert total(manager_client, "ﾀﾅｶ") == 1
    result = runner.invoke(args=["comments", "remask"])
    assert result.exit_code == 0 and "1 answers updated" in result.output
    assert total(manager_client, "ﾀﾅｶ") == 0
    assert all(masked == masked_for_search(comment) for comment, masked in stored(app))
    assert "0 answers updated" in runner.invoke(args=["comments", "remask"]).output
