"""Japanese error pages for every path a blueprint does not handle itself.

The survey and API blueprints answer their own errors (tablet pages, JSON); everything else,
including URLs that match no route at all, gets a short page in plain Japanese, never
Werkzeug's English default.
"""
from flask import Blueprint, Flask, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: ("リクエストが正しくありません", "送られた内容を読み取れませんでした。もう一度お試しください。"),
    403: ("この操作はできません", "このページを見る権限がありません。"),
    404: ("ページが見つかりません", "URLをお確かめください。"),
    405: ("この操作はできません", "このページはこの方法では使えません。"),
    413: ("送られた内容が大きすぎます", "内容を短くして、もう一度お試しください。"),
    429: ("アクセスが多すぎます", "しばらく待ってから、もう一度お試しください。"),
    500: ("エラーが発生しました", "時間をおいて、もう一度お試しください。続く場合は管理者にお知らせください。"),
}


def _error_page(error: HTTPException):
    if request.path.startswith("/api/"):
        # API clients get JSON from their blueprint; for unknown /api/ URLs answer in JSON too.
        title = MESSAGES.get(error.code, (error.name, ""))[0]
        return {"error": title}, error.code
    title, text = MESSAGES.get(error.code, (error.name, error.description or ""))
    response = render_template("error.html", title=title, text=text, code=error.code)
    return response, error.code


def init_app(app: Flask) -> None:
    # Also covers unhandled exceptions: Flask logs them and passes on an InternalServerError.
    app.register_error_handler(HTTPException, _error_page)


CSRF_TITLE = "もう一度お試しください"
CSRF_TEXT = ("画面を長く開いたままだったなどの理由で、送信を受け付けられませんでした。"
             "お手数ですが、画面を開き直してからもう一度お試しください。")


def handle_csrf_errors(bp: Blueprint, endpoint: str, link_label: str) -> None:
    """Answer a staff blueprint's expired or missing CSRF token with 400 and a way back."""

    def csrf_error(_error: CSRFError):
        return render_template("auth/message.html", title=CSRF_TITLE, text=CSRF_TEXT,
                               link=(url_for(endpoint), link_label)), 400

    bp.register_error_handler(CSRFError, csrf_error)
