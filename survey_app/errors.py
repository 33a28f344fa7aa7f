"""Japanese error pages for every path a blueprint does not handle itself.

The survey and API blueprints answer their own errors (tablet pages, JSON); everything else,
including URLs that match no route at all, gets a short page in plain Japanese, never
Werkzeug's English default.
"""
from flask import Flask, render_template, request
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
