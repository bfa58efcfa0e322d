"""HTTP of the signup form embedded in the organisation's own site (docs/EMBED.md).

No CSRF cookie reaches a page on another site, so a signup here proves itself otherwise: its
Origin (or, without one, its Referer) is on MAILER_EMBED_ORIGINS; it carries a signed,
time-stamped form token fetched when the form loaded, bound to that origin; its honeypot is
empty; and it counts against the same per-IP and per-address limits as /subscribe. CORS headers
go only to allowed origins. The signup itself is stored and handled like our own form's.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, g, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from wtforms.fields.choices import SelectChoice

from mailer import config_values
from mailer.extensions import csrf, db
from mailer.models import ConsentChannel
from mailer.public import embed_tokens, signup_limits
from mailer.public.embed_tokens import TokenVerdict
from mailer.public.forms import SubscribeForm
from mailer.subscribers import lifecycle, public_requests
from mailer.tasks import queue
from mailer.tasks.subscriber_mail import handle_public_request

bp = Blueprint("embed", __name__, url_prefix="/embed")
csrf.exempt(bp)  # the origin check and the signed form token stand in for the session's CSRF token


def request_origin() -> str | None:
    """The page's origin: the Origin header, else the Referer's (sent when a browser omits Origin)."""
    if "Origin" in request.headers:
        return config_values.origin_of(request.headers["Origin"])
    return config_values.origin_of(request.headers.get("Referer"))


def _allowed_origin() -> str:
    """The caller's origin when it is on the allow-list; else 403 (404 while no origin is configured)."""
    allowed = current_app.config["EMBED_ORIGINS"]
    if not allowed:
        abort(404)
    origin = request_origin()
    if origin not in allowed:
        abort(403)
    return origin


@bp.after_request
def cors_headers(response: Response) -> Response:
    """Let allowed sites read our answers (the limits' 429 too); say nothing to any other site.

    Flask answers a CORS preflight (OPTIONS) by itself; this adds the headers to it, for allowed sites only.
    """
    origin = request_origin()
    if origin in current_app.config["EMBED_ORIGINS"]:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "GET, POST"
        response.headers["Access-Control-Max-Age"] = "600"
    response.vary.add("Origin")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/token", methods=["GET"])
def token():
    """A fresh form token for the page that is loading the form."""
    return jsonify(token=embed_tokens.issue(_allowed_origin()))


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _thanks_target() -> str:
    """The site's own thank-you page when it is on an allowed origin (no open redirect), else ours."""
    thanks = request.form.get("thanks_url", "")
    if thanks and config_values.origin_of(thanks) in current_app.config["EMBED_ORIGINS"]:
        return thanks
    return url_for("public.check_inbox", lang=str(get_locale()))


def _check_your_inbox():
    """The one answer to every signup that got this far, whatever the address or whether it was stored."""
    if _wants_json():
        return jsonify(message=gettext("Thank you. Please check your inbox: if the address can receive mail "
                                       "from us, you will get an email in a few minutes. Follow the link in it "
                                       "to confirm."))
    return redirect(_thanks_target(), 303)


def _refuse(errors: list[str]):
    if _wants_json():
        return jsonify(errors=errors), 400
    return render_template("public/embed_refused.html", errors=errors), 400


@bp.route("/subscribe", methods=["POST"])
@signup_limits.per_ip
@signup_limits.per_address
def subscribe():
    """Record a signup posted by the embedded form; answer "check your inbox" like /subscribe."""
    origin = _allowed_origin()
    if request.form.get("language") in current_app.config["LANGUAGES"]:
        g.subscriber_language = request.form["language"]  # answer in the form's language
    form = SubscribeForm(meta={"csrf": False})
    language = str(get_locale())
    form.topics.choices = [SelectChoice(str(t.id), t.name(language)) for t in lifecycle.public_topics()]
    if not form.validate():
        return _refuse([str(message) for messages in form.errors.values() for message in messages])
    verdict = embed_tokens.check(request.form.get("form_token"), origin)
    if verdict in (TokenVerdict.INVALID, TokenVerdict.EXPIRED):
        return _refuse([gettext("This form has expired. Please reload the page and try again.")])
    if form.website.data or verdict is TokenVerdict.TOO_FAST:
        return _check_your_inbox()  # bots get the same answer as people; nothing is stored or sent
    request_id = public_requests.store_signup(
        email=form.email.data, name=(form.name.data or "").strip() or None, language=form.language.data,
        topic_ids=[int(t) for t in form.topics.data], frequency=form.frequency.data, ip=request.remote_addr,
        user_agent=request.user_agent.string[:300] or None, channel=ConsentChannel.EMBED)
    db.session.commit()
    queue(handle_public_request, request_id)
    return _check_your_inbox()
