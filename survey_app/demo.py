"""Synthetic demo responses: `flask --app survey_app demo-data [--responses N] [--seed S]`.

The command loads the shipped facilities and makes the database hold exactly N responses with
``channel = "demo"`` for seed S, spread over the current and the previous fiscal year (年度) up to
yesterday (Asia/Tokyo). Rows from the form and the API are never touched.

Generation is vectorised with numpy; only the comment text and the content hash are built per
row. Rows are written with one executemany per chunk, one transaction per chunk, and no ORM
objects. The same N, seed, facility list and calendar day give the same rows; a rerun that would
write the same rows leaves the table alone (row ids stay stable).
"""
import hashlib
import json
import random
import re
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import click
import numpy as np
from flask.cli import with_appcontext
from sqlalchemy import delete, func, insert, select
from tqdm import tqdm

from analysis.masking import masked_for_search

from .data import demo_comments as material
from .demo_targets import load_demo_targets
from .extensions import db
from .facilities import load_shipped_facilities
from .models import Facility, Response
from .questionnaire import FORM_VERSION, RESPONDENT_GROUP, SERVICES
from .timeutil import fiscal_year_label, fiscal_year_of, to_tokyo, utcnow

DEMO_CHANNEL = "demo"
DEFAULT_RESPONSES = 20_000
DEFAULT_SEED = 2012
MAX_RESPONSES = 5_000_000
CHUNK_ROWS = 25_000
# Client UUIDs are uuid5(namespace, "seed:index"): stable, and never equal to a tablet's uuid4.
UUID_NAMESPACE = uuid.UUID("6f1d2a9e-3c8b-5e47-9a10-2b7c4d0e8f31")
TOKYO_OFFSET = np.timedelta64(9, "h")

GROUPS = tuple(choice.value for choice in RESPONDENT_GROUP.choices)
SERVICE_VALUES = tuple(choice.value for choice in SERVICES.choices)
# JSON text of each services bit mask, as SQLAlchemy's JSON type writes it on SQLite.
SERVICES_JSON = [json.dumps([v for bit, v in enumerate(SERVICE_VALUES) if mask >> bit & 1])
                 for mask in range(1 << len(SERVICE_VALUES))]
THEMES = material.PRAISE + material.REQUEST
PRAISE_COUNT = len(material.PRAISE)

# Visitors per month relative to the mean: busy spring and new year, quiet August and December.
MONTH_FACTOR = {4: 1.25, 5: 1.15, 6: 1.05, 7: 1.0, 8: 0.82, 9: 0.95, 10: 1.05, 11: 0.97,
                12: 0.78, 1: 1.02, 2: 1.08, 3: 1.12}
# Monday to Sunday; Saturdays only at facilities that open on Saturdays.
WEEKDAY_FACTOR = (1.18, 1.05, 1.0, 1.0, 0.92, 0.12, 0.0)
# Visitors per 15-minute slot from 08:30 (JST); the last two slots are people finishing late.
WEEKDAY_SLOTS = (0.4, 0.9, 1.4, 1.8, 2.0, 2.1, 2.1, 2.0, 1.9, 1.6, 1.2, 0.7, 0.6, 0.7, 1.0,
                 1.5, 1.8, 1.9, 1.9, 1.8, 1.7, 1.6, 1.5, 1.4, 1.2, 1.1, 1.0, 0.9, 0.8, 0.7,
                 0.6, 0.5, 0.4, 0.3, 0.2, 0.05, 0.03)
SATURDAY_FIRST_SLOT, SATURDAY_LAST_SLOT = 6, 30  # 10:00–16:00
DAY_START_SECONDS = 8 * 3600 + 30 * 60

# Share of respondents by group when a facility names no target groups.
GENERAL_GROUPS = {
    "municipal": {"welfare": 0.30, "disability": 0.08, "parenting": 0.12, "youth": 0.10,
                  "middle_aged": 0.15, "other": 0.25},
    "prefecture": {"welfare": 0.05, "disability": 0.05, "parenting": 0.15, "youth": 0.30,
                   "middle_aged": 0.25, "other": 0.20},
}
OUTSIDE_TARGET_GROUPS = {"welfare": 0.05, "disability": 0.05, "parenting": 0.10, "youth": 0.20,
                         "middle_aged": 0.25, "other": 0.35}
UNANSWERED_GROUP = 0.25
# P(service used) by group, in questionnaire order: job_consultation, job_search,
# welfare_consultation, application_support, seminar, training_info, other.
SERVICE_PROBABILITY = {
    "welfare": (0.80, 0.25, 0.55, 0.20, 0.05, 0.12, 0.04),
    "disability": (0.75, 0.30, 0.25, 0.30, 0.10, 0.15, 0.05),
    "parenting": (0.75, 0.45, 0.20, 0.30, 0.12, 0.20, 0.03),
    "youth": (0.65, 0.50, 0.05, 0.45, 0.30, 0.18, 0.03),
    "middle_aged": (0.75, 0.55, 0.05, 0.35, 0.15, 0.25, 0.03),
    "other": (0.70, 0.55, 0.10, 0.25, 0.10, 0.18, 0.06),
}
SKIPPED_SERVICES = 0.06
# Establishment (そう思う … 思わない) given satisfaction (満足 … 不満).
ESTABLISHMENT_GIVEN_SATISFACTION = np.array([
    [0.820, 0.160, 0.015, 0.005],
    [0.450, 0.520, 0.025, 0.005],
    [0.250, 0.450, 0.220, 0.080],
    [0.150, 0.300, 0.300, 0.250],
])
# By satisfaction 1–4: P(any comment), P(non-informative | comment), P(first theme is praise).
COMMENT_RATE = np.array([0.36, 0.40, 0.62, 0.70])
NON_INFORMATIVE_RATE = np.array([0.27, 0.27, 0.08, 0.08])
PRAISE_RATE = np.array([0.92, 0.62, 0.15, 0.08])
SECOND_THEME_RATE = 0.15
PHONE_RATE = 0.004
FULL_WIDTH_RATE = 0.3
PRAISE_WEIGHT = {"kind_staff": 3.0, "found_job": 1.2, "encouraged": 1.2, "one_stop": 0.6,
                 "location": 0.8, "application_support": 0.8}
REQUEST_WEIGHT = {"terminals": 1.5, "staffing": 1.5, "opening_hours": 1.3, "few_jobs": 1.0,
                  "facility": 0.7}
# Share of facilities clearly below the 90% yardstick (seed: 68 of 82 at ≥ 90%).
LOW_SATISFACTION_SHARE = 14 / 82


class DemoDataError(ValueError):
    """The demo data cannot be generated (e.g. no facilities)."""


@dataclass
class DemoRows:
    """Generated responses as columns, in submitted_at order."""

    client_uuid: list
    facility_id: np.ndarray
    submitted_at: np.ndarray  # datetime64[s], naive UTC
    received_at: np.ndarray
    fiscal_year: np.ndarray
    satisfaction: np.ndarray
    establishment: np.ndarray
    respondent_group: list
    services: list  # lists of choice values, questionnaire order
    service_mask: np.ndarray  # the same as bits (1 << index in SERVICE_VALUES)
    comment: list
    comment_masked: list  # analysis.masking.masked_for_search of each comment
    content_hash: list

    def __len__(self) -> int:
        return len(self.client_uuid)

    def answers(self, i: int) -> dict:
        """Return row i's answers in the shape validate_answers returns."""
        return {"satisfaction": int(self.satisfaction[i]), "establishment": int(self.establishment[i]),
                "respondent_group": self.respondent_group[i], "services": self.services[i],
                "comment": self.comment[i]}


def demo_period(today: date) -> tuple[date, date]:
    """Return the first and last day (Tokyo) of the demo: two fiscal years up to yesterday."""
    last = today - timedelta(days=1)
    return date(fiscal_year_of(last) - 1, 4, 1), last


def _nth_monday(year: int, month: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(7 - first.weekday()) % 7 + 7 * (n - 1))


def closed_days(first: date, last: date) -> set[date]:
    """Return national holidays (approximate: equinoxes fixed) and the year-end closure."""
    days = set()
    for year in range(first.year, last.year + 1):
        fixed = [(1, 1), (2, 11), (2, 23), (3, 20), (4, 29), (5, 3), (5, 4), (5, 5), (8, 11),
                 (9, 23), (11, 3), (11, 23)]
        holidays = {date(year, m, d) for m, d in fixed}
        holidays |= {_nth_monday(year, 1, 2), _nth_monday(year, 7, 3), _nth_monday(year, 9, 3),
                     _nth_monday(year, 10, 2)}
        for day in sorted(holidays):  # 振替休日
            if day.weekday() == 6:
                substitute = day + timedelta(days=1)
                while substitute in holidays:
                    substitute += timedelta(days=1)
                holidays.add(substitute)
        days |= holidays
        days |= {date(year, 12, d) for d in (29, 30, 31)} | {date(year, 1, d) for d in (1, 2, 3)}
    return days


def _facility_first_day(facility: Facility) -> date:
    start = date(facility.start_fiscal_year, 4, 1)
    return max(start, facility.start_date) if facility.start_date else start


def demo_uuids(seed: int, n: int) -> list[str]:
    """Return str(uuid.uuid5(UUID_NAMESPACE, f"{seed}:{i}")) for i < n, without UUID objects."""
    sha1, namespace = hashlib.sha1, UUID_NAMESPACE.bytes
    out = []
    for i in range(n):
        digest = bytearray(sha1(namespace + f"{seed}:{i}".encode()).digest()[:16])
        digest[6] = digest[6] & 0x0F | 0x50
        digest[8] = digest[8] & 0x3F | 0x80
        h = digest.hex()
        out.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
    return out


class CommentWriter:
    """Compose varied Japanese comments from the parts in survey_app.data.demo_comments."""

    SLOT = re.compile(r"\{(\w+)\}")
    KANA_ONLY = re.compile(r"^[\u3041-\u309f\u30fc]+$")
    FULL_WIDTH = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})

    def __init__(self, seed: int):
        self.random = random.Random(f"survey-demo-comments:{seed}")
        self.themes = [self._compile(material.THEMES[key]) for key in THEMES]
        self.openings = [material.THEMES[key].get("openings")
                         or material.OPENINGS["praise" if key in material.PRAISE else "request"]
                         for key in THEMES]

    def _compile(self, theme: dict) -> list:
        slots = {**material.SHARED_SLOTS, **theme["slots"]}
        compiled = []
        for template in theme["templates"]:
            parts = self.SLOT.split(template)  # literal, slot, literal, slot, …
            for name in parts[1::2]:
                if name not in slots:
                    raise KeyError(f"template {template!r} uses unknown slot {name!r}")
            compiled.append((parts, slots, bool(self.KANA_ONLY.match(template))))
        return compiled

    def _fill(self, filler: str) -> str:
        if "{surname}" in filler:
            return filler.replace("{surname}", self.random.choice(material.SURNAMES))
        return filler

    def body(self, theme: int) -> tuple[str, bool]:
        parts, slots, kana = self.random.choice(self.themes[theme])
        choice = self.random.choice
        text = "".join(part if i % 2 == 0 else self._fill(choice(slots[part]))
                       for i, part in enumerate(parts))
        return text, kana

    def phone(self) -> str:
        r = self.random
        kind = r.random()
        if kind < 0.6:
            number = f"0{r.choice('789')}0-{r.randrange(10000):04d}-{r.randrange(10000):04d}"
        elif kind < 0.8:
            number = f"0{r.randrange(3, 10)}-{r.randrange(1000, 10000)}-{r.randrange(10000):04d}"
        else:
            number = f"0{r.choice('789')}0{r.randrange(10**8):08d}"
        return r.choice(material.PHONE_SENTENCES).format(phone=number)

    def comment(self, first: int, second: int | None) -> str:
        """Compose a comment on theme index `first` (and `second`, when given)."""
        r = self.random
        kind = "praise" if first < PRAISE_COUNT else "request"
        text, kana = self.body(first)
        if kana and second is None:
            return text + r.choice(("", "", "。", "！"))
        text = r.choice(self.openings[first]) + text
        if second is not None:
            second_kind = "praise" if second < PRAISE_COUNT else "request"
            second_text, _ = self.body(second)
            text += r.choice(material.JOINERS[second_kind]) + second_text
        ending = r.choice(material.ENDINGS)
        text += ending
        closing = r.choice(material.CLOSINGS[kind])
        if closing:
            text += ("" if ending else r.choice((" ", "。", "\n"))) + closing + r.choice(material.ENDINGS)
        if r.random() < PHONE_RATE:
            text += r.choice(("", " ", "\n")) + self.phone()
        if r.random() < FULL_WIDTH_RATE:
            text = text.translate(self.FULL_WIDTH)
        return text

    def non_informative(self) -> str:
        return self.random.choice(material.NON_INFORMATIVE)


def generate_demo_rows(facilities: list[Facility], n: int, seed: int, today: date,
                       progress: bool = False) -> DemoRows:
    """Generate n demo responses for the facilities (pure: no database access)."""
    if n and not facilities:
        raise DemoDataError("no facilities: import them first (flask --app survey_app facilities import)")
    facilities = sorted(facilities, key=lambda f: f.code)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence([seed, n]).spawn(6)]
    rng_facility, rng_when, rng_group, rng_answer, rng_comment, rng_misc = streams
    n_fac = len(facilities)

    # Facilities: size, satisfaction level, Saturday opening.
    kinds = np.array([f.operator_kind for f in facilities])
    size = np.where(kinds == "prefecture", 2.2, 1.0) * rng_facility.lognormal(0.0, 0.45, n_fac)
    low = np.zeros(n_fac, dtype=bool)
    low[rng_facility.permutation(n_fac)[:round(n_fac * LOW_SATISFACTION_SHARE)]] = True
    dissatisfied = np.where(low, rng_facility.uniform(0.11, 0.20, n_fac),
                            rng_facility.uniform(0.025, 0.08, n_fac))
    very_satisfied = rng_facility.uniform(0.45, 0.65, n_fac)
    opens_saturday = rng_facility.random(n_fac) < 0.25

    # Days: seasonality, weekdays, holidays; facilities only from their first day.
    first, last = demo_period(today)
    days = np.arange(np.datetime64(first), np.datetime64(last) + 1, dtype="datetime64[D]")
    closed = np.array(sorted(closed_days(first, last)), dtype="datetime64[D]")
    weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
    months = days.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day_weight = np.array([MONTH_FACTOR[m] for m in months]) * np.take(WEEKDAY_FACTOR, weekday)
    day_weight[np.isin(days, closed)] = 0.0
    years = days.astype("datetime64[Y]").astype(np.int64) + 1970
    fiscal_years = np.where(months >= 4, years, years - 1)
    day_weight *= np.where(fiscal_years == fiscal_years[-1], 1.05, 1.0)  # a little growth
    first_days = np.array([np.datetime64(_facility_first_day(f)) for f in facilities])
    weight = size[:, None] * day_weight[None, :] * (days[None, :] >= first_days[:, None])
    weight[~opens_saturday[:, None] & (weekday == 5)[None, :]] = 0.0
    if n and weight.sum() == 0:
        raise DemoDataError("no facility is open during the demo period")
    cells = rng_when.choice(weight.size, size=n, p=(weight / weight.sum()).ravel()) if n else np.zeros(0, int)
    fac, day_index = np.divmod(cells, len(days))

    # Time of day (JST), then naive UTC; sorted so rows go in chronological order.
    saturday = weekday[day_index] == 5
    slot_p = np.array(WEEKDAY_SLOTS) / sum(WEEKDAY_SLOTS)
    sat_slots = np.zeros(len(WEEKDAY_SLOTS))
    sat_slots[SATURDAY_FIRST_SLOT:SATURDAY_LAST_SLOT] = WEEKDAY_SLOTS[SATURDAY_FIRST_SLOT:SATURDAY_LAST_SLOT]
    slot = np.where(saturday, rng_when.choice(len(sat_slots), size=n, p=sat_slots / sat_slots.sum()),
                    rng_when.choice(len(slot_p), size=n, p=slot_p))
    seconds = DAY_START_SECONDS + slot * 900 + rng_when.integers(0, 900, n)
    submitted = (days[day_index].astype("datetime64[s]") + seconds.astype("timedelta64[s]")
                 - TOKYO_OFFSET)
    order = np.lexsort((fac, submitted))
    fac, day_index, submitted = fac[order], day_index[order], submitted[order]
    received = submitted + rng_misc.integers(1, 6, n).astype("timedelta64[s]")
    fiscal_year = fiscal_years[day_index]
    current_year = fiscal_year == fiscal_years[-1]

    # Respondent group: mostly the facility's target groups; a quarter leave it blank.
    group_p = np.zeros((n_fac, len(GROUPS)))
    for i, facility in enumerate(facilities):
        if facility.target_groups:
            mix = {g: 0.2 * p for g, p in OUTSIDE_TARGET_GROUPS.items()}
            for g in facility.target_groups:
                mix[g] += 0.8 / len(facility.target_groups)
        else:
            mix = GENERAL_GROUPS[facility.operator_kind]
        group_p[i] = [mix.get(g, 0.0) for g in GROUPS]
    group_p /= group_p.sum(axis=1, keepdims=True)
    group = (rng_group.random(n)[:, None] > np.cumsum(group_p, axis=1)[fac]).sum(axis=1)
    group = np.minimum(group, len(GROUPS) - 1)
    group_answered = rng_group.random(n) >= UNANSWERED_GROUP

    # Services: independent choices by group, welfare consultations likelier at municipal counters.
    service_p = np.array([SERVICE_PROBABILITY[g] for g in GROUPS])[group]
    municipal = kinds[fac] == "municipal"
    service_p[:, 2] = np.where(municipal, np.minimum(service_p[:, 2] * 1.3, 0.95), service_p[:, 2])
    used = rng_group.random((n, len(SERVICE_VALUES))) < service_p
    used[rng_group.random(n) < SKIPPED_SERVICES] = False
    service_mask = used.astype(np.int64) @ (1 << np.arange(len(SERVICE_VALUES)))

    # Satisfaction by facility (slightly better in the current year); establishment follows it.
    dissat_p = dissatisfied[fac] * np.where(current_year, 0.95, 1.0)
    u = rng_answer.random(n)
    satisfaction = np.where(u < dissat_p, np.where(rng_answer.random(n) < 0.3, 4, 3),
                            np.where(rng_answer.random(n) < very_satisfied[fac], 1, 2))
    establishment = 1 + (rng_answer.random(n)[:, None]
                         > np.cumsum(ESTABLISHMENT_GIVEN_SATISFACTION, axis=1)[satisfaction - 1]).sum(axis=1)
    establishment = np.minimum(establishment, 4)

    # Comments: none / non-informative / one or two themes, praise more often when satisfied.
    s = satisfaction - 1
    has_comment = rng_comment.random(n) < COMMENT_RATE[s]
    non_informative = has_comment & (rng_comment.random(n) < NON_INFORMATIVE_RATE[s])
    themed = np.flatnonzero(has_comment & ~non_informative)
    k = len(themed)
    theme_weight = np.tile([PRAISE_WEIGHT[t] for t in material.PRAISE]
                           + [REQUEST_WEIGHT[t] for t in material.REQUEST], (k, 1))
    t_group, t_used = np.array(GROUPS)[group[themed]], used[themed]
    theme_weight[:, THEMES.index("one_stop")] *= np.where(
        np.isin(t_group, ["welfare", "parenting", "disability"]) | t_used[:, 2], 4.0, 1.0)
    theme_weight[:, THEMES.index("application_support")] *= np.where(t_used[:, 3], 3.0, 1.0)
    theme_weight[:, THEMES.index("terminals")] *= np.where(t_used[:, 1], 2.5, 1.0)
    theme_weight[:, THEMES.index("few_jobs")] *= np.where(np.isin(t_group, ["middle_aged", "disability"]), 1.6, 1.0)
    theme_weight[:, THEMES.index("opening_hours")] *= np.where(np.isin(t_group, ["parenting", "youth"]), 1.5, 1.0)
    praise_first = rng_comment.random(k) < PRAISE_RATE[s[themed]]
    first_theme = _pick(rng_comment, theme_weight, praise_first)
    two = rng_comment.random(k) < SECOND_THEME_RATE
    second_praise = np.where(praise_first, rng_comment.random(k) < 0.45, rng_comment.random(k) < 0.4)
    theme_weight[np.arange(k), first_theme] = 0.0
    second_theme = _pick(rng_comment, theme_weight, second_praise)
    del theme_weight, t_group, t_used

    writer = CommentWriter(seed)
    comments: list = [None] * n
    bar = tqdm(total=int(has_comment.sum()), desc="comments", unit="rows", file=sys.stderr,
               disable=None if progress else True, mininterval=1.0)
    with bar:
        for i in np.flatnonzero(non_informative).tolist():
            comments[i] = writer.non_informative()
        bar.update(int(non_informative.sum()))
        for j, (i, first_t, second_t, both) in enumerate(zip(
                themed.tolist(), first_theme.tolist(), second_theme.tolist(), two.tolist())):
            comments[i] = writer.comment(first_t, second_t if both else None)
            if j % 10_000 == 9_999:
                bar.update(10_000)
        bar.update(k % 10_000)

    service_lists = [[v for bit, v in enumerate(SERVICE_VALUES) if mask >> bit & 1]
                     for mask in range(1 << len(SERVICE_VALUES))]
    group_values = [g if answered else None
                    for g, answered in zip(np.array(GROUPS, dtype=object)[group].tolist(),
                                           group_answered.tolist())]
    rows = DemoRows(
        client_uuid=demo_uuids(seed, n),
        facility_id=np.array([f.id for f in facilities], dtype=np.int64)[fac],
        submitted_at=submitted, received_at=received, fiscal_year=fiscal_year,
        satisfaction=satisfaction, establishment=establishment,
        respondent_group=group_values,
        services=[service_lists[m] for m in service_mask.tolist()], service_mask=service_mask,
        comment=comments, comment_masked=masked_comments(comments), content_hash=[],
    )
    rows.content_hash = content_hashes(
        [facilities[i].code for i in fac.tolist()], rows.satisfaction.tolist(), rows.establishment.tolist(),
        group_values, service_mask.tolist(), service_lists, comments)
    return rows


def _pick(rng: np.random.Generator, weight: np.ndarray, praise: np.ndarray) -> np.ndarray:
    """Pick one theme per row from the praise or the request themes, by weight."""
    w = weight.copy()
    w[praise, PRAISE_COUNT:] = 0.0
    w[~praise, :PRAISE_COUNT] = 0.0
    cum = np.cumsum(w, axis=1)
    target = rng.random(len(w)) * cum[:, -1]
    return np.minimum((target[:, None] >= cum).sum(axis=1), len(THEMES) - 1)


def masked_comments(comments) -> list:
    """masked_for_search of each comment, once per distinct text (the parts repeat)."""
    cache: dict = {}
    for comment in comments:
        if comment not in cache:
            cache[comment] = masked_for_search(comment)
    return [cache[comment] for comment in comments]


def content_hashes(codes, satisfaction, establishment, groups, service_masks, service_lists,
                   comments) -> list[str]:
    """Return survey_app.answers.content_hash for each row, a few times faster.

    Builds the same text as ``json.dumps({"facility": …, "answers": …}, sort_keys=True,
    ensure_ascii=False)`` from pre-encoded pieces; tests compare it with content_hash.
    """
    dumps, sha256 = json.dumps, hashlib.sha256
    code_json = {code: dumps(code, ensure_ascii=False) for code in set(codes)}
    group_json = {g: dumps(g) for g in (*GROUPS, None)}
    services_json = [dumps(services, ensure_ascii=False) for services in service_lists]
    out = []
    for code, sat, est, group, mask, comment in zip(codes, satisfaction, establishment, groups,
                                                    service_masks, comments):
        text = "null" if comment is None else dumps(comment, ensure_ascii=False)
        payload = (f'{{"answers": {{"comment": {text}, "establishment": {est}, '
                   f'"respondent_group": {group_json[group]}, "satisfaction": {sat}, '
                   f'"services": {services_json[mask]}}}, "facility": {code_json[code]}}}')
        out.append(sha256(payload.encode()).hexdigest())
    return out


INSERT_COLUMNS = ("client_uuid", "facility_id", "device_id", "form_version", "channel", "submitted_at",
                  "received_at", "fiscal_year", "satisfaction", "establishment", "respondent_group",
                  "services", "comment", "comment_masked", "content_hash")


def _sqlite_datetimes(values: np.ndarray) -> list[str]:
    """Format like SQLAlchemy's SQLite DateTime: 'YYYY-MM-DD HH:MM:SS.ffffff'."""
    return [s.replace("T", " ") for s in np.datetime_as_string(values.astype("datetime64[us]")).tolist()]


def _chunk_rows(rows: DemoRows, start: int, stop: int, native_sqlite: bool) -> list:
    sl = slice(start, stop)
    if native_sqlite:
        submitted = _sqlite_datetimes(rows.submitted_at[sl])
        received = _sqlite_datetimes(rows.received_at[sl])
        services = [SERVICES_JSON[m] for m in rows.service_mask[sl].tolist()]
    else:
        submitted = rows.submitted_at[sl].astype("datetime64[us]").tolist()
        received = rows.received_at[sl].astype("datetime64[us]").tolist()
        services = rows.services[sl]
    columns = zip(rows.client_uuid[sl], rows.facility_id[sl].tolist(), submitted, received,
                  rows.fiscal_year[sl].tolist(), rows.satisfaction[sl].tolist(),
                  rows.establishment[sl].tolist(), rows.respondent_group[sl], services,
                  rows.comment[sl], rows.comment_masked[sl], rows.content_hash[sl])
    if native_sqlite:
        return [(u, f, None, FORM_VERSION, DEMO_CHANNEL, sub, rec, fy, sat, est, g, sv, c, m, h)
                for u, f, sub, rec, fy, sat, est, g, sv, c, m, h in columns]
    return [dict(zip(INSERT_COLUMNS, (u, f, None, FORM_VERSION, DEMO_CHANNEL, sub, rec, fy, sat, est, g, sv, c, m, h)))
            for u, f, sub, rec, fy, sat, est, g, sv, c, m, h in columns]


def _same_as_stored(connection, rows: DemoRows, chunk_rows: int = CHUNK_ROWS) -> bool:
    """Tell whether the stored demo rows are exactly the generated ones, in the same order."""
    columns = [Response.__table__.c[name] for name in INSERT_COLUMNS]
    # On the statement, not the connection: Connection.execution_options changes the connection.
    result = connection.execute(select(*columns).where(Response.channel == DEMO_CHANNEL)
                                .order_by(Response.id).execution_options(yield_per=chunk_rows))
    start = 0
    for stored in result.partitions():
        stop = min(start + len(stored), len(rows))
        if [tuple(row) for row in stored] != [tuple(d.values()) for d in _chunk_rows(rows, start, stop, False)]:
            result.close()
            return False
        start += len(stored)
    return start == len(rows)


def write_demo_rows(rows: DemoRows, progress: bool = False, native_sqlite: bool | None = None,
                    chunk_rows: int = CHUNK_ROWS) -> tuple[int, bool]:
    """Replace the stored demo rows with `rows`; return (rows deleted, rows written?).

    On SQLite the values are pre-formatted and passed straight to the driver's executemany
    (`native_sqlite`); elsewhere a Core insert() binds them through the column types.
    """
    engine = db.engine
    if native_sqlite is None:
        native_sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        existing = connection.scalar(select(func.count()).select_from(Response)
                                     .where(Response.channel == DEMO_CHANNEL))
        if existing == len(rows) and _same_as_stored(connection, rows):
            connection.rollback()
            return 0, False
        connection.rollback()  # end the read's implicit transaction before our own
        with connection.begin():
            connection.execute(delete(Response).where(Response.channel == DEMO_CHANNEL))
        if engine.dialect.name == "sqlite":
            # Room for the indexes while loading; restored afterwards (pooled connection).
            cache_size = connection.exec_driver_sql("PRAGMA cache_size").scalar()
            connection.exec_driver_sql("PRAGMA cache_size=-131072")
            connection.commit()
        statement = insert(Response.__table__)
        native_sql = (f"INSERT INTO responses ({', '.join(INSERT_COLUMNS)}) "
                      f"VALUES ({', '.join('?' * len(INSERT_COLUMNS))})")
        try:
            with tqdm(total=len(rows), desc="insert", unit="rows", file=sys.stderr,
                      disable=None if progress else True, mininterval=1.0) as bar:
                for start in range(0, len(rows), chunk_rows):
                    stop = min(start + chunk_rows, len(rows))
                    chunk = _chunk_rows(rows, start, stop, native_sqlite)
                    with connection.begin():
                        if native_sqlite:
                            connection.exec_driver_sql(native_sql, chunk)
                        else:
                            connection.execute(statement, chunk)
                    bar.update(stop - start)
        finally:
            if engine.dialect.name == "sqlite":
                connection.exec_driver_sql(f"PRAGMA cache_size={int(cache_size)}")
                connection.commit()
    return existing, True


def load_demo_data(n: int = DEFAULT_RESPONSES, seed: int = DEFAULT_SEED, today: date | None = None,
                   progress: bool = False) -> dict:
    """Load the shipped facilities and make the database hold exactly n demo responses.

    Also loads the seed's fiscal-2012 targets and invented ones for the demo years (demo_targets).
    """
    if not 0 <= n <= MAX_RESPONSES:
        raise DemoDataError(f"the number of responses must be between 0 and {MAX_RESPONSES:,}")
    started = time.perf_counter()
    created, updated = load_shipped_facilities()
    today = today or to_tokyo(utcnow()).date()
    facilities = list(db.session.scalars(select(Facility)))
    rows = generate_demo_rows(facilities, n, seed, today, progress=progress)
    db.session.close()
    generated = time.perf_counter()
    deleted, written = write_demo_rows(rows, progress=progress)
    years, counts = np.unique(rows.fiscal_year, return_counts=True)
    current_year = fiscal_year_of(today)
    targets_created = load_demo_targets([current_year - 1, current_year], current_year, seed)
    with_comment = sum(c is not None for c in rows.comment)
    return {
        "responses": n, "seed": seed, "facilities_created": created, "facilities_updated": updated,
        "per_fiscal_year": dict(zip(years.tolist(), counts.tolist())),
        "with_comment": with_comment, "deleted": deleted, "written": written,
        "targets_created": targets_created,
        "generate_seconds": generated - started, "write_seconds": time.perf_counter() - generated,
    }


def summary_line(stats: dict) -> str:
    n = stats["responses"]
    years = ", ".join(f"{fiscal_year_label(y)} {c:,}" for y, c in stats["per_fiscal_year"].items()) or "none"
    share = stats["with_comment"] / n if n else 0.0
    action = (f"replaced {stats['deleted']:,} old demo rows" if stats["written"]
              else "already up to date, nothing written")
    seconds = stats["generate_seconds"] + stats["write_seconds"]
    return (f"demo-data: {n:,} demo responses (seed {stats['seed']}): {years}; {share:.1%} with a comment; "
            f"{action}; facilities {stats['facilities_created']} created, {stats['facilities_updated']} "
            f"updated; {stats['targets_created']} demo targets added; {seconds:.1f} s")


@click.command("demo-data")
@click.option("--responses", "n", type=click.IntRange(0, MAX_RESPONSES), default=DEFAULT_RESPONSES,
              show_default=True, help="Number of demo responses the database should hold.")
@click.option("--seed", type=click.IntRange(0, 2**32 - 1), default=DEFAULT_SEED, show_default=True,
              help="Random seed; the same seed and number give the same responses.")
@with_appcontext
def demo_data_command(n: int, seed: int):
    """Load the shipped facilities and N synthetic demo responses (replacing older demo rows)."""
    try:
        stats = load_demo_data(n, seed, progress=True)
    except DemoDataError as error:
        raise click.ClickException(str(error))
    click.echo(summary_line(stats))
