"""Turn the tablet form's fields into the API's answer shape, and back for re-rendering.

Validation itself lives in `survey_app.answers.validate_answers`, shared with the API;
this module only translates HTML form fields.
"""
import uuid
from dataclasses import dataclass, field

from werkzeug.datastructures import MultiDict

from ..questionnaire import QUESTIONS


def _single_value(raw: str | None):
    """Return digits as int (the questionnaire's values); keep anything else for validation."""
    if raw is None or raw == "":
        return None
    if raw.isascii() and raw.isdigit():
        return int(raw)
    return raw


def answers_from_form(form: MultiDict) -> dict:
    """Build the `answers` object of the API from the submitted form fields."""
    answers: dict = {}
    for question in QUESTIONS:
        if question.kind == "single":
            answers[question.key] = _single_value(form.get(question.key))
        elif question.kind == "multi":
            answers[question.key] = form.getlist(question.key)
        else:
            answers[question.key] = form.get(question.key, "")
    return answers


@dataclass
class FormState:
    """What the form shows: the checked choices, the comment, errors and the client id."""

    client_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    selected: dict[str, set[str]] = field(default_factory=dict)
    comment: str = ""
    errors: dict[str, str] = field(default_factory=dict)
    message: str | None = None

    @classmethod
    def from_form(cls, form: MultiDict, errors: dict[str, str], client_uuid: str | None = None,
                  message: str | None = None) -> "FormState":
        """Keep what the respondent entered so a re-rendered form loses nothing."""
        selected = {}
        comment = ""
        for question in QUESTIONS:
            if question.kind == "single":
                value = form.get(question.key)
                selected[question.key] = {value} if value else set()
            elif question.kind == "multi":
                selected[question.key] = set(form.getlist(question.key))
            else:
                comment = form.get(question.key, "")
        state = cls(selected=selected, comment=comment, errors=errors, message=message)
        if client_uuid:
            state.client_uuid = client_uuid
        return state

    def is_checked(self, key: str, value) -> bool:
        return str(value) in self.selected.get(key, set())
