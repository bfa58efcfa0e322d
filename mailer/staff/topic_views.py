"""Admin pages for topics: list and order, create, edit in both languages, archive, restore, delete."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_login import current_user

from mailer.extensions import db
from mailer.models import StaffRole, Topic
from mailer.staff.admin_forms import ActionForm
from mailer.staff.auth import staff_required
from mailer.staff.labels import topic_change_labels
from mailer.staff.login_views import LogoutForm
from mailer.staff.topic_forms import TopicForm
from mailer.subscribers import topics

bp = Blueprint("staff_topics", __name__, url_prefix="/staff/topics")


def _topic_or_404(topic_id: int) -> Topic:
    topic = db.session.get(Topic, topic_id)
    if topic is None:
        abort(404)
    return topic


def _back(anchor: str = ""):
    return redirect(url_for(".index") + anchor, code=303)


def _checked_action() -> None:
    if not ActionForm().validate():
        abort(400)


def _render_list(form: TopicForm | None = None, code: int = 200):
    return render_template("staff/topics.html", rows=topics.topic_rows(), form=form or TopicForm(formdata=None),
                           action_form=ActionForm(), logout_form=LogoutForm(), language=str(get_locale())), code


def _render_edit(topic: Topic, form: TopicForm, code: int = 200):
    return render_template("staff/topic.html", topic=topic, form=form, history=topics.history(topic.id),
                           change_labels=topic_change_labels(), has_sent=topics.has_sent_mail(topic.id),
                           action_form=ActionForm(), logout_form=LogoutForm(), language=str(get_locale())), code


@bp.get("/")
@staff_required(StaffRole.ADMIN)
def index():
    return _render_list()


@bp.post("/")
@staff_required(StaffRole.ADMIN)
def create():
    form = TopicForm()
    if not form.validate():
        if form.csrf_token.errors:
            abort(400)
        return _render_list(form, 400)
    topic = topics.create_topic(form.text(), current_user.id)
    db.session.commit()
    flash(gettext("The topic “%(name)s” has been created.", name=topic.name(str(get_locale()))), "success")
    return _back()


@bp.route("/<int:topic_id>", methods=["GET", "POST"])
@staff_required(StaffRole.ADMIN)
def edit(topic_id: int):
    topic = _topic_or_404(topic_id)
    if request.method == "GET":
        return _render_edit(topic, TopicForm(formdata=None, obj=topic))
    form = TopicForm()
    if not form.validate():
        if form.csrf_token.errors:
            abort(400)
        return _render_edit(topic, form, 400)
    if topics.edit_topic(topic, form.text(), current_user.id):
        db.session.commit()
        flash(gettext("The topic has been saved. What subscribers agreed to stays as they saw it."), "success")
    return redirect(url_for(".edit", topic_id=topic.id), code=303)


@bp.post("/<int:topic_id>/move/<direction>")
@staff_required(StaffRole.ADMIN)
def move(topic_id: int, direction: str):
    _checked_action()
    if direction not in ("up", "down"):
        abort(404)
    topic = _topic_or_404(topic_id)
    try:
        topics.move_topic(topic, -1 if direction == "up" else 1, current_user.id)
    except topics.TopicRefused:
        flash(gettext("An archived topic has no place in the order. Restore it first."), "error")
        return _back()
    db.session.commit()
    return _back(f"#topic-{topic.id}")


@bp.post("/<int:topic_id>/archive")
@staff_required(StaffRole.ADMIN)
def archive(topic_id: int):
    _checked_action()
    topic = _topic_or_404(topic_id)
    topics.archive_topic(topic, current_user.id)
    db.session.commit()
    flash(gettext("“%(name)s” is archived: it is hidden from the signup and manage pages and gets no new mail. "
                  "Its history is kept.", name=topic.name(str(get_locale()))), "success")
    return _back()


@bp.post("/<int:topic_id>/restore")
@staff_required(StaffRole.ADMIN)
def restore(topic_id: int):
    _checked_action()
    topic = _topic_or_404(topic_id)
    topics.restore_topic(topic, current_user.id)
    db.session.commit()
    flash(gettext("“%(name)s” is in use again.", name=topic.name(str(get_locale()))), "success")
    return _back()


@bp.post("/<int:topic_id>/delete")
@staff_required(StaffRole.ADMIN)
def delete(topic_id: int):
    _checked_action()
    topic = _topic_or_404(topic_id)
    name = topic.name(str(get_locale()))
    try:
        topics.delete_topic(topic, current_user.id)
    except topics.TopicRefused:
        flash(gettext("“%(name)s” has sent mailings, so it cannot be deleted. Archive it instead.", name=name), "error")
        return redirect(url_for(".edit", topic_id=topic.id), code=303)
    db.session.commit()
    flash(gettext("“%(name)s” has been deleted.", name=name), "success")
    return _back()
