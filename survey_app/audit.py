"""The audit log: who logged in, viewed or exported what, and what admins changed.

Rows hold an action code and a short target (a facility code, a username, a fiscal year),
never comment text or other personal data. Admins read them at /admin/audit.
"""
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import g, has_request_context

from .extensions import db
from .models import AuditEvent

ACTION_PATTERN = re.compile(r"^[a-z][a-z0-9_.:-]{0,49}$")
TARGET_MAX_LENGTH = 200

# Japanese labels for the audit page; unknown actions are shown as their code.
ACTION_LABELS = {
    "auth.login": "ログイン",
    "auth.login_failed": "ログイン失敗",
    "auth.locked": "ログイン停止（失敗の繰り返し）",
    "auth.logout": "ログアウト",
    "auth.password_changed": "パスワード変更（本人）",
    "admin.user_created": "ユーザー作成",
    "admin.user_updated": "役割・担当施設の変更",
    "admin.password_reset": "パスワード再設定",
    "admin.user_disabled": "ユーザー停止",
    "admin.user_enabled": "ユーザー再開",
    "admin.user_unlocked": "ログイン停止の解除",
    "cli.user_created": "ユーザー作成（コマンド）",
    "cli.password_set": "パスワード設定（コマンド）",
    "cli.user_disabled": "ユーザー停止（コマンド）",
    "cli.user_enabled": "ユーザー再開（コマンド）",
    "cli.demo_users": "デモ用ユーザーの設定（コマンド）",
    "cli.device_revoked": "端末の取り消し（コマンド）",
    "admin.device_enrolled": "端末の登録URLの発行",
    "admin.device_revoked": "端末の取り消し",
    "admin.audit_exported": "操作記録の出力",
    "report.view": "レポート閲覧",
    "report.export": "レポート出力",
    "catalog.retrain": "テーマカタログの再学習",
    "catalog.publish": "テーマカタログの公開",
    "catalog.restore": "テーマカタログを前の版に戻す",
    "catalog.import": "テーマカタログの取り込み",
    "report.denied": "担当外・存在しない施設のレポートの要求",
    "workbench.decision": "判定の修正",
    "workbench.decision_undone": "判定の修正の取り消し",
    "workbench.theme_renamed": "テーマ名の変更",
    "workbench.theme_merged": "テーマの統合",
    "workbench.theme_split": "テーマの切り出し",
    "workbench.edit_undone": "テーマ編集の取り消し",
    "cli.decisions_imported": "判定の修正の取り込み（コマンド）",
}


def action_label(action: str) -> str:
    """Return the Japanese label of an action code."""
    return ACTION_LABELS.get(action, action)


def _clean_target(target: str) -> str:
    # One line, no control characters, bounded: a target is an identifier, not free text.
    text = "".join(ch if ch.isprintable() else " " for ch in str(target or ""))
    return " ".join(text.split())[:TARGET_MAX_LENGTH]


def store(action: str, target: str = "", user_id: int | None = None) -> AuditEvent:
    """Store an audit event for `user_id` and commit (with any pending change of the caller)."""
    if not ACTION_PATTERN.match(action or ""):
        raise ValueError(f"audit action must be a short code like 'report.view', got {action!r}")
    event = AuditEvent(action=action, target=_clean_target(target), user_id=user_id)
    db.session.add(event)
    db.session.commit()
    return event


def record(action: str, target: str = "") -> AuditEvent:
    """Store an audit event for the current user (None outside a request or when anonymous).

    `action` is a code such as ``"report.view"`` or ``"report.export"``; `target` names what
    was viewed (a facility code, a fiscal year) — never comment text or personal data.
    Commits the session.
    """
    user = g.get("user") if has_request_context() else None
    return store(action, target, user.id if user else None)


TOKYO = timedelta(hours=9)


@dataclass
class AuditFilter:
    """Which events the audit page and its CSV show; dates are Tokyo calendar days, inclusive."""

    user_id: int | None = None
    action: str | None = None
    start: date | None = None
    end: date | None = None

    def statement(self):
        """SELECT of the matching events, newest first."""
        query = sa.select(AuditEvent).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        if self.user_id is not None:
            query = query.where(AuditEvent.user_id == self.user_id)
        if self.action:
            query = query.where(AuditEvent.action == self.action)
        if self.start:
            query = query.where(AuditEvent.occurred_at >= _tokyo_midnight_utc(self.start))
        if self.end:
            query = query.where(AuditEvent.occurred_at < _tokyo_midnight_utc(self.end + timedelta(days=1)))
        return query


def _tokyo_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time()) - TOKYO
