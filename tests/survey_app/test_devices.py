"""Device enrollment from the command line."""
import re

from sqlalchemy import select

from survey_app.devices import device_for_enrollment_code, device_for_token, digest
from survey_app.extensions import db
from survey_app.models import Device


def test_enroll_prints_a_one_time_url_and_a_token_and_stores_only_digests(app, runner):
    result = runner.invoke(args=["devices", "enroll", "ebisu-work-saga", "--label", "受付",
                                 "--base-url", "http://tablet.example:8000/"])
    assert result.exit_code == 0, result.output
    code = re.search(r"http://tablet\.example:8000/enroll/(\S+)", result.output).group(1)
    token = re.search(r"device token .*: (\S+)", result.output).group(1)
    with app.app_context():
        device = db.session.scalar(select(Device))
        assert device.facility.code == "ebisu-work-saga" and device.label == "受付"
        assert device.token_hash == digest(token) and token not in (device.token_hash, device.enrollment_code_hash)
        assert device_for_enrollment_code(code).id == device.id
        assert device_for_token(token).id == device.id


def test_enroll_unknown_facility_fails_clearly(runner):
    result = runner.invoke(args=["devices", "enroll", "nowhere"])
    assert result.exit_code != 0 and "no facility" in result.output


def test_revoke_and_list(app, runner, device):
    assert "enrolled" in runner.invoke(args=["devices", "list"]).output
    assert runner.invoke(args=["devices", "revoke", str(device["id"])]).exit_code == 0
    assert "revoked" in runner.invoke(args=["devices", "list"]).output
    with app.app_context():
        assert device_for_token(device["token"]) is None
