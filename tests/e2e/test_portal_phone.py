"""The citizen portal on a phone (390×844): a person signs in with the code from the outbox, opens 我的, who
used my data, the consents and an application form; no page scrolls sideways."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from tests.e2e.conftest import shot
from tests.services.portal_helpers import CODE
from zhixian.integration.models import Person
from zhixian.services.licences import service as licences

WIDE = "document.documentElement.scrollWidth > window.innerWidth + 1"


def _someone(node) -> tuple[str, str]:
    with node.db.sessionmaker() as session:
        for p in session.execute(select(Person).where(Person.name != "").order_by(Person.id)).scalars():
            key = node.cipher.decrypt(p.id_enc, index=p.id_index)
            try:
                licences.holder_key("person", key, "k")
            except Exception:  # noqa: BLE001 - the demo population holds a few invalid numbers on purpose
                continue
            return key, p.name
    raise AssertionError("no person in the demo county")


def test_a_person_signs_in_and_reads_their_pages_on_a_phone(new_page, demo_server):
    node = demo_server.app.state.node
    key, name = _someone(node)
    page = new_page(phone=True)
    page.goto("/portal/login")
    assert not page.evaluate(WIDE)
    page.get_by_label("姓名").fill(name)
    page.get_by_label("公民身份号码").fill(key)
    page.get_by_label("手机号码").fill("13800138000")
    page.get_by_role("button", name="获取验证码").click()
    page.wait_for_load_state("networkidle")
    outbox = Path(node.settings.data_dir) / "outbox" / "sms.log"
    code = CODE.search(outbox.read_text().splitlines()[-1]).group(1)
    page.get_by_label("验证码").fill(code)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/portal/me")
    for path in ("/portal/me", "/portal/me/usage", "/portal/me/consents", "/portal/matters", "/portal"):
        page.goto(path)
        assert not page.evaluate(WIDE), path
    shot(page, "portal-phone-home")
    page.goto("/portal/me")
    shot(page, "portal-phone-me")
