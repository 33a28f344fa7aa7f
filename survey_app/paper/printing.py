"""The printable questionnaire: A4 sheets from the tablet's own questionnaire definition.

Questions, choices and furigana come from `survey_app.questionnaire` (no second copy); each
sheet carries its facility, its own 調査票番号 and a QR code of that number.
"""
import re

import segno
from flask import render_template

from ..questionnaire import QUESTIONS
from ..reports import exports
from .sheets import shown

# WeasyPrint does not lay out <ruby>: print each reading as a small line above its characters.
RUBY = re.compile(r"<ruby>(.*?)<rt(?: [^>]*)?>(.*?)</rt></ruby>")


def printable_ruby(html: str) -> str:
    return RUBY.sub(r'<span class="ruby"><span class="ruby__rt">\2</span><span class="ruby__rb">\1</span></span>', html)


def qr_svg(number: str) -> str:
    """The sheet number as a QR code (never Micro QR, which phones and most scanners skip)."""
    return segno.make_qr(number, error="m").svg_inline(border=4, omitsize=True, dark="#000")


def questionnaire_html(facility, numbers: list[str]) -> str:
    sheets = [{"number": number, "shown": shown(number), "qr": qr_svg(number)} for number in numbers]
    return printable_ruby(render_template("paper/questionnaire.html", facility=facility, sheets=sheets,
                                          questions=QUESTIONS))


def questionnaire_pdf(facility, numbers: list[str]) -> bytes:
    return exports.html_to_pdf(questionnaire_html(facility, numbers))
