"""HTTP: /api/v1/topics: the lists subscribers choose from, named in both languages."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import abort

from mailer.api.docs import api_blueprint, problems
from mailer.api.schemas import TopicList, TopicOut
from mailer.extensions import db
from mailer.models import Topic
from mailer.subscribers import lifecycle

bp = api_blueprint("api_topics", "topics", "Topics (lists) subscribers can choose")


def _topic(topic: Topic) -> dict:
    return {"id": topic.id, "slug": topic.slug, "is_public": topic.is_public,
            "name": {"da": topic.name_da, "en": topic.name_en},
            "description": {"da": topic.description_da, "en": topic.description_en}}


@bp.route("")
class Topics(MethodView):
    @bp.etag
    @bp.response(200, TopicList)
    @problems(bp)
    def get(self):
        """Every topic, public or not, in display order."""
        return {"items": [_topic(t) for t in lifecycle.all_topics()]}


@bp.route("/<int:topic_id>")
class OneTopic(MethodView):
    @bp.etag
    @bp.response(200, TopicOut)
    @problems(bp, 404)
    def get(self, topic_id: int):
        """One topic."""
        topic = db.session.get(Topic, topic_id)
        if topic is None:
            abort(404)
        return _topic(topic)
