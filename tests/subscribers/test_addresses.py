"""Addresses are normalised before they are counted and stored (issue 10, item 10).

Full-width and other compatibility forms (NFKC), the domain's case and its Unicode form (IDNA) all
name one mailbox: the per-address limit counts them together and the database stores one form.
"""
from __future__ import annotations

import pytest

from mailer.extensions import db
from mailer.models import Subscriber
from tests.helpers import subscribe, topic_ids

VARIANTS = ["victim@rl.example", "victim@ｒl.example", "victim@RL.EXAMPLE", "ｖｉｃｔｉｍ@ｒｌ．ｅｘａｍｐｌｅ"]


def test_full_width_variants_share_the_per_address_limit(app, client):
    app.config["SIGNUP_LIMIT_PER_ADDRESS"] = "3 per hour"
    (newsletter,) = topic_ids(app, "newsletter")
    codes = [subscribe(client, email, [newsletter]).status_code for email in VARIANTS]
    assert codes == [303, 303, 303, 429]


def test_full_width_variants_share_the_new_link_limit(app, client):
    pass

    app.config["SIGNUP_LIMIT_PER_ADDRESS"] = "2 per hour"
    codes = []
    for email in VARIANTS[:3]:
        page = client.get("/confirm/broken")
        from tests.helpers import form_fields

        codes.append(client.post("/new-link", data={**form_fields(page.get_data(as_text=True)), "email": email}).status_code)
    assert codes == [303, 303, 429]


@pytest.mark.parametrize(("typed", "stored"), [
    ("ｖｉｃｔｉｍ@ｒｌ．ｅｘａｍｐｌｅ", "victim@rl.example"),
    ("Ida@BÜCHER.example", "Ida@xn--bcher-kva.example"),
    ("ida@ｂücher.example", "ida@xn--bcher-kva.example"),
])
def test_one_mailbox_is_stored_in_one_form(app, client, run_tasks, typed, stored):
    (newsletter,) = topic_ids(app, "newsletter")
    assert subscribe(client, typed, [newsletter]).status_code == 303
    run_tasks()
    with app.app_context():
        assert list(db.session.scalars(db.select(Subscriber.email))) == [stored]


def test_variants_of_a_known_address_find_the_same_subscriber(app, client, run_tasks):
    (newsletter,) = topic_ids(app, "newsletter")
    for email in VARIANTS:
        subscribe(client, email, [newsletter])
    run_tasks()
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(Subscriber)) == 1


def test_the_normaliser():
    from mailer.subscribers.addresses import InvalidAddress, normalise_address

    assert normalise_address(" ｖictim@ＲＬ.example ") == "victim@rl.example"
    with pytest.raises(InvalidAddress):
        normalise_address("søren@example.dk")
