"""The application's models: the declarations live in `survey_schema`, shared with `analysis`."""
from survey_schema.models import (  # noqa: F401
    OPERATOR_KINDS,
    ROLES,
    AnalysisRun,
    AuditEvent,
    Device,
    Facility,
    LoginAttempt,
    Response,
    ResponseTheme,
    Target,
    Theme,
    ThemeMention,
    User,
    user_facilities,
)
