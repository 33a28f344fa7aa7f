"""The database tables, declared once (SQLAlchemy 2.0 typed style).

The web application (`survey_app`, through Flask-SQLAlchemy), its Alembic migrations and the
analysis package (`analysis.store`, without Flask) all use these declarations.
"""
from datetime import date, datetime, timezone

from sqlalchemy import JSON, Column, ForeignKey, Index, LargeBinary, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from analysis.masking import masked_for_search


def utcnow() -> datetime:
    """Return the current time as a naive UTC datetime (how the database stores it)."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    """Plain declarative base; `survey_app.extensions.db` is built on it."""


OPERATOR_KINDS = {"prefecture": "都道府県", "municipal": "市区町村"}
# How an answer reached us. Demo answers keep their own channel: `demo-data` replaces exactly
# those rows, and no report counts an invented answer as a tablet's.
CHANNELS = {"tablet": "タブレット", "paper": "紙", "api": "API", "demo": "デモ"}


class Facility(Base):
    __tablename__ = "facilities"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    prefecture: Mapped[str] = mapped_column(String(10), index=True)
    municipality: Mapped[str] = mapped_column(String(50))
    operator_kind: Mapped[str] = mapped_column(String(20), index=True)
    start_fiscal_year: Mapped[int]
    start_date: Mapped[date | None]
    hello_work_office: Mapped[str | None] = mapped_column(String(100))
    # Keys of questionnaire.RESPONDENT_GROUP choices, e.g. ["welfare", "youth"].
    target_groups: Mapped[list[str]] = mapped_column(JSON, default=list)

    devices: Mapped[list["Device"]] = relationship(back_populates="facility")

    @property
    def operator_kind_label(self) -> str:
        return OPERATOR_KINDS.get(self.operator_kind, self.operator_kind)

    @property
    def place_label(self) -> str:
        """「埼玉県・川口市」, or just 「青森県」 when the prefecture itself runs the facility."""
        if not self.municipality or self.municipality == self.prefecture:
            return self.prefecture
        return f"{self.prefecture}・{self.municipality}"


class Device(Base):
    """A tablet enrolled for one facility; only enrolled devices may submit responses."""

    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"), index=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    # Only SHA-256 digests are stored: a database leak must not leak usable tokens.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    enrollment_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrollment_expires_at: Mapped[datetime | None]
    enrolled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    # What the tablet last reported about its offline queue (answers waiting to be sent,
    # answers the server refused), and when; None until it has reported once.
    pending_count: Mapped[int | None]
    rejected_count: Mapped[int | None]
    sync_reported_at: Mapped[datetime | None]

    facility: Mapped[Facility] = relationship(back_populates="devices")

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


def _masked_comment(context) -> str | None:
    return masked_for_search(context.get_current_parameters().get("comment"))


class Response(Base):
    """One jobseeker's answers; `client_uuid` makes every submission idempotent."""

    __tablename__ = "responses"
    __table_args__ = (
        Index("ix_responses_facility_fiscal_year", "facility_id", "fiscal_year"),
        Index("ix_responses_facility_submitted_at", "facility_id", "submitted_at"),
        Index("ix_responses_device_received_at", "device_id", "received_at"),
        # Covers the report overview's GROUP BY (facility, month) of one fiscal year.
        Index("ix_responses_fiscal_year_facility_cover", "fiscal_year", "facility_id", "submitted_at",
              "satisfaction", "establishment"),
        # A paper sheet is stored once, nationally (its number includes no facility).
        UniqueConstraint("sheet_number", name="uq_responses_sheet_number"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    form_version: Mapped[int]
    channel: Mapped[str] = mapped_column(String(10))  # a key of CHANNELS
    # The printed number of a paper sheet (調査票番号, with its check digit); None otherwise.
    sheet_number: Mapped[str | None] = mapped_column(String(8))
    # UTC, naive. submitted_at is when the respondent answered (the tablet's clock for
    # offline answers); received_at is when the server stored it.
    submitted_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    fiscal_year: Mapped[int]
    satisfaction: Mapped[int]
    establishment: Mapped[int]
    respondent_group: Mapped[str | None] = mapped_column(String(20))
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str | None] = mapped_column(Text)
    # What comment search matches: the comment as readers see it (masked), NFKC. Search never
    # reads `comment`, so it cannot find what the masks hide. Written with every insert.
    comment_masked: Mapped[str | None] = mapped_column(Text, default=_masked_comment)
    # Digest of facility + answers, to tell an identical re-send (200) from a conflict (409).
    content_hash: Mapped[str] = mapped_column(String(64))

    facility: Mapped[Facility] = relationship()


class AnalysisRun(Base):
    """One `survey-analysis run`: its parameters, versions and outcome."""

    __tablename__ = "analysis_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")  # running|complete|failed
    parameters: Mapped[dict] = mapped_column(JSON, default=dict)
    versions: Mapped[dict] = mapped_column(JSON, default=dict)
    catalog_version: Mapped[str | None] = mapped_column(String(64))
    n_responses: Mapped[int] = mapped_column(default=0)
    n_comments: Mapped[int] = mapped_column(default=0)
    n_themes: Mapped[int] = mapped_column(default=0)
    # An incremental run adds its answers to the rows of the run it extends and names that run
    # here (None: the rows are its own); last_response_id is the last answer it themed.
    results_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("analysis_runs.id", name="fk_analysis_runs_results_run_id"))
    last_response_id: Mapped[int | None]


class Theme(Base):
    """A theme found by a run: from the catalog (T01…) or discovered (D01…)."""

    __tablename__ = "themes"
    __table_args__ = (UniqueConstraint("run_id", "theme_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_runs.id", ondelete="CASCADE"), index=True)
    theme_id: Mapped[str] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))  # catalog|discovery
    size: Mapped[int] = mapped_column(default=0)
    words: Mapped[list[str]] = mapped_column(JSON, default=list)
    representative_response_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Discovered themes: where later answers look for them (analysis.centroids).
    centroid: Mapped[dict | None] = mapped_column(JSON)


class ResponseTheme(Base):
    """The theme of one response's main point in a run; theme_id is None when it has none.

    `source` says why: catalog or discovery, or no_comment / unclassified (未分類: content
    that no theme covers).
    """

    __tablename__ = "response_themes"
    __table_args__ = (Index("ix_response_themes_run_theme", "run_id", "theme_id"),)

    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_runs.id", ondelete="CASCADE"), primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    theme_id: Mapped[str | None] = mapped_column(String(20))
    score: Mapped[float | None]
    source: Mapped[str] = mapped_column(String(20))  # catalog|discovery|no_comment|unclassified


class ThemeMention(Base):
    """One point a response's comment makes in a run: a theme, praise or request, and where.

    A comment can make several (「親切だけど駐車場が狭い」); no-comment and unclassified
    comments make none. The span is character offsets into `analysis.text.normalize` of the
    masked comment, the text the pipeline read.
    """

    __tablename__ = "theme_mentions"
    __table_args__ = (
        # The reports read one run's mentions per facility and year through responses.
        Index("ix_theme_mentions_run_theme_polarity", "run_id", "theme_id", "polarity"),
        Index("ix_theme_mentions_response", "response_id"),
        # The workbench pages a theme's mentions least certain first.
        Index("ix_theme_mentions_run_theme_score", "run_id", "theme_id", "score"),
    )

    run_id: Mapped[int] = mapped_column(ForeignKey("analysis_runs.id", ondelete="CASCADE"), primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True)
    theme_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    polarity: Mapped[str] = mapped_column(String(10))  # praise|request
    score: Mapped[float | None]
    span_start: Mapped[int]
    span_end: Mapped[int]
    rank: Mapped[int] = mapped_column(default=0)  # 0 = the comment's main point


class ThemeEdit(Base):
    """An analyst's edit of a theme in the workbench: rename, merge into another, or split off.

    A merge or split is carried out as decisions (``ThemeDecision.edit_id``) on the comments it
    touches, so it survives reruns however discovery numbers its themes; the edit names the
    theme it makes or renames (`theme_id`) and keeps the label. Undoing it undoes its decisions.
    """

    __tablename__ = "theme_edits"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # rename|merge|split
    theme_id: Mapped[str] = mapped_column(String(20), index=True)  # the theme named or made
    from_theme_id: Mapped[str | None] = mapped_column(String(20))  # merged or split from
    label: Mapped[str | None] = mapped_column(String(200))
    previous_label: Mapped[str | None] = mapped_column(String(200))  # given back on undo
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class ThemeDecision(Base):
    """An analyst's correction (判定の修正): the whole label set of one comment text.

    Kept by the fingerprint of the masked, NFKC comment (`responses.comment_masked`), so it
    applies to every identical comment, in this run and future ones; the latest decision not
    undone wins and the model never overrides it (`analysis.decisions`).
    """

    __tablename__ = "theme_decisions"
    __table_args__ = (Index("ix_theme_decisions_fingerprint_created", "fingerprint", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    comment_masked: Mapped[str] = mapped_column(Text)
    labels: Mapped[str] = mapped_column(String(200))  # "T07:R;T01:P", main point first; "T00:N"
    # What the run gave the comment before any decision: shown again when this one is undone.
    model_labels: Mapped[str | None] = mapped_column(String(200))
    edit_id: Mapped[int | None] = mapped_column(ForeignKey("theme_edits.id", ondelete="SET NULL"),
                                                index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class TextVector(Base):
    """A sentence vector of one normalised comment text, so a rerun embeds only new comments.

    Keyed by the text's SHA-256 and the model name (analysis/encoder.py); the text itself is
    not stored here, and a vector belongs to no response: identical answers share one.
    """

    __tablename__ = "text_vectors"

    text_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    model: Mapped[str] = mapped_column(String(100), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


user_facilities = Table(
    "user_facilities",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("facility_id", ForeignKey("facilities.id", ondelete="CASCADE"), primary_key=True),
)

ROLES = {"admin": "管理者", "analyst": "分析担当", "manager": "施設管理者", "clerk": "入力担当"}
# Roles bound to the facilities they are assigned; the others reach every facility.
FACILITY_ROLES = ("manager", "clerk")


class User(Base):
    """A person who logs in; managers and clerks reach only their assigned facilities."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    # Bumped on logout and password change so every old session cookie stops working.
    session_version: Mapped[int] = mapped_column(default=1)
    disabled_at: Mapped[datetime | None]

    facilities: Mapped[list[Facility]] = relationship(secondary=user_facilities)


class LoginAttempt(Base):
    """A login from one client address that failed within the window, or is being checked.

    The per-address limit counts these rows, so that every worker sees the same count; an
    attempt is stored before its password is checked (parallel guesses cannot all pass the
    count) and deleted when it succeeds. Expired rows are deleted as new ones come.
    """

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_address_attempted_at", "address", "attempted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AuditEvent(Base):
    """Who viewed or exported what; readable by admins. Never holds comment text."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str] = mapped_column(String(200), default="")


class Target(Base):
    """A yearly target (年度目標) of one facility for one indicator, with its result (実績)."""

    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("facility_id", "fiscal_year", "indicator_key", name="uq_targets_facility_year_indicator"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id", ondelete="CASCADE"), index=True)
    fiscal_year: Mapped[int] = mapped_column(index=True)
    indicator_key: Mapped[str] = mapped_column(String(40))  # e.g. "employments"
    indicator_name: Mapped[str] = mapped_column(String(100))  # e.g. "就職者数"
    kind: Mapped[str] = mapped_column(String(10))  # count|rate
    unit: Mapped[str] = mapped_column(String(10))  # 人|件|回|%
    direction: Mapped[str] = mapped_column(String(10), default="higher")  # higher|lower is better
    target: Mapped[float]
    result: Mapped[float | None]
    note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    facility: Mapped[Facility] = relationship()


class CatalogVersion(Base):
    """A version of the theme catalog: its JSON, where it came from, its figures, whether published.

    Rows are never deleted: every version stays diffable and restorable. At most one row has
    ``published_at`` (analysis.catalog_versions.publish clears the others in one transaction);
    that one is the catalog of the next ``survey-analysis run``.
    """

    __tablename__ = "catalog_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    # The catalog's own "version" string, which runs record (analysis_runs.catalog_version).
    label: Mapped[str] = mapped_column(String(64), unique=True)
    catalog: Mapped[dict] = mapped_column(JSON)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_versions.id"))
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="ready")  # training|ready|failed
    progress: Mapped[dict] = mapped_column(JSON, default=dict)  # {"stage", "done", "total"}
    cv_figures: Mapped[dict | None] = mapped_column(JSON)
    # What would change on the latest run: moves of main points between themes, with examples.
    preview: Mapped[dict | None] = mapped_column(JSON)
    published_at: Mapped[datetime | None]


class PaperSheet(Base):
    """One printed paper questionnaire; its serial is the national 調査票番号 without check digit.

    Numbers are handed out here, one row per printed sheet, so that two print runs can never
    share a number and a typed-in number tells its facility.
    """

    __tablename__ = "paper_sheets"

    serial: Mapped[int] = mapped_column(primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facilities.id", ondelete="CASCADE"), index=True)
    batch: Mapped[str] = mapped_column(String(36), index=True)  # one print run
    printed_at: Mapped[datetime] = mapped_column(default=utcnow)
    printed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    facility: Mapped[Facility] = relationship()
