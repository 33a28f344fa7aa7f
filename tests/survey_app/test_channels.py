"""Every answer carries its channel; reports and exports show the mix and filter by it."""
import csv
import io
import uuid
from datetime import datetime

from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, select, text

from survey_app.answers import store_response, validate_answers
from survey_app.extensions import db
from survey_app.models import Facility, Response

from .reports_fixtures import FACILITY_CODE, logged_in

ANSWERED = datetime(2024, 6, 3, 3, 0)  # fiscal year 2024


def store(app, channel: str, comment: str, sheet_number=None):
    with app.app_context():
        facility = db.session.scalar(select(Facility).where(Facility.code == FACILITY_CODE))
        answers = validate_answers({"satisfaction": 1, "establishment": 1, "comment": comment}).answers
        store_response(client_uuid=str(uuid.uuid4()), facility=facility, device=None, answers=answers,
                       submitted_at=ANSWERED, channel=channel, sheet_number=sheet_number)


def test_the_facility_report_shows_the_mix_and_filters_comments_by_channel(app):
    for channel, comment in (("tablet", "タブレットの声"), ("tablet", "タブレットの声その二"),
                             ("paper", "紙の声"), ("api", "APIの声")):
        store(app, channel, comment, "00000018" if channel == "paper" else None)
    manager = logged_in(app, "mix-manager", "manager", [FACILITY_CODE])
    page = manager.get(f"/reports/{FACILITY_CODE}?fy=2024").get_data(as_text=True)
    assert "回答方法" in page
    for channel, count in (("tablet", "2"), ("paper", "1"), ("api", "1")):
        row = page.split(f'data-channel="{channel}"')[1].split("</tr>")[0]
        assert f'<td class="num">{count}</td>' in row
    assert 'data-channel="demo"' not in page  # demo only when there is some
    paper_only = manager.get(f"/reports/{FACILITY_CODE}?fy=2024&channel=paper").get_data(as_text=True)
    comments = paper_only.split('id="comments"')[1]
    assert "紙の声" in comments and "タブレットの声" not in comments and "APIの声" not in comments
    ignored = manager.get(f"/reports/{FACILITY_CODE}?fy=2024&channel=fax").get_data(as_text=True)
    assert "APIの声" in ignored.split('id="comments"')[1]

    export = manager.get(f"/reports/{FACILITY_CODE}/comments.csv?fy=2024&channel=tablet").get_data(as_text=True)
    assert "タブレットの声" in export and "紙の声" not in export
    responses = manager.get(f"/reports/{FACILITY_CODE}/responses.csv?fy=2024&channel=paper")
    rows = list(csv.reader(io.StringIO(responses.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][-3:] == ["回答方法", "調査票番号", "ご意見・ご要望（個人情報は伏せ字）"]
    assert [(row[-3], row[-2], row[-1]) for row in rows[1:]] == [("紙", "0000001-8", "紙の声")]
    every = manager.get(f"/reports/{FACILITY_CODE}/responses.csv?fy=2024").get_data(as_text=True)
    assert sorted(line.split(",")[-3] for line in every.splitlines()[1:]) == ["API", "タブレット", "タブレット", "紙"]


def test_the_overview_shows_the_mix_of_the_visible_facilities(app):
    store(app, "paper", "紙の声", "00000018")
    store(app, "tablet", "タブレットの声")
    admin = logged_in(app, "mix-admin", "admin")
    page = admin.get("/reports/?fy=2024").get_data(as_text=True)
    row = page.split('data-channel="paper"')[1].split("</tr>")[0]
    assert '<td class="num">1</td>' in row and "50.0" in row


def test_migration_0013_renames_source_to_channel_and_backfills(app):
    with app.app_context():
        db.drop_all()
        upgrade(revision="0007")
        facility_id = db.session.execute(text(
            "INSERT INTO facilities (code, name, prefecture, municipality, operator_kind, start_fiscal_year,"
            " target_groups) VALUES ('m-fac', 'M', '東京都', '東京都', 'prefecture', 2012, '[]') RETURNING id")).scalar()
        for number, source in enumerate(("form", "api", "demo")):
            db.session.execute(text(
                "INSERT INTO responses (client_uuid, facility_id, form_version, source, submitted_at, received_at,"
                " fiscal_year, satisfaction, establishment, services, content_hash)"
                " VALUES (:uuid, :facility, 1, :source, :at, :at, 2024, 1, 1, '[]', 'h')"),
                {"uuid": str(uuid.UUID(int=number)), "facility": facility_id, "source": source, "at": ANSWERED})
        db.session.commit()
        db.session.remove()
        upgrade(revision="0013")
        columns = {c["name"] for c in inspect(db.engine).get_columns("responses")}
        assert "channel" in columns and "source" not in columns and "sheet_number" in columns
        channels = db.session.execute(text("SELECT client_uuid, channel FROM responses ORDER BY client_uuid")).all()
        assert [channel for _uuid, channel in channels] == ["tablet", "api", "demo"]
        db.session.commit()  # end the read: PostgreSQL's ALTER TABLE waits for every open one
        downgrade(revision="0007")
        sources = db.session.execute(text("SELECT source FROM responses ORDER BY client_uuid")).scalars().all()
        assert sources == ["form", "api", "demo"]
        db.session.commit()
        downgrade(revision="base")
        db.session.execute(text("DROP TABLE alembic_version"))
        db.session.commit()
