"""The dashboard's working forms without a browser (issue 21): every POST needs the
session's CSRF token; a regulator cannot act on another authority's items (the registry
operation refuses, nothing is written, the page says why); an administrator looks on."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from registry.core.models import AuditEntry
from registry.evaluation.models import Alert
from registry.intake.models import Complaint, Objection
from registry.lists.models import ListEntry, Repair
from tests.api.factories import ApiFactory
from tests.web import work


@pytest.fixture
def api_factory(session) -> ApiFactory:
    return ApiFactory(session, seed=31)


@pytest.fixture
def two(api_factory):
    """Our authority's regulator, and another authority's items of every kind."""
    ours = api_factory.authority()
    theirs = api_factory.authority()
    token = api_factory.token("regulator", ours, name="本局科员")
    items = {
        "entry": work.proposals(api_factory, theirs, 1)[0],
        "objection": work.objection(api_factory, theirs).id,
        "complaint": work.complaint(api_factory, theirs).id,
        "alert": work.alert(api_factory, theirs).id,
        "repair": work.repair(api_factory, theirs).id,
        "batch": work.import_batch(api_factory, theirs),
        "mine": work.proposals(api_factory, ours, 2),
    }
    api_factory.commit()
    return token, items


def _fresh(session):
    session.rollback()
    session.expire_all()


def _audited(session) -> int:
    _fresh(session)
    return int(session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


def _csrf(client, path: str) -> str:
    return work.csrf_of(client.get(path).get_data(as_text=True))


def test_every_form_refuses_a_post_without_the_csrf_token(client, session, two):
    token, items = two
    work.login(client, token.secret)
    before = _audited(session)
    posts = {
        "/dashboard/queue/decide": {
            "decision": "confirm",
            "scope": "selected",
            "ids": str(items["mine"][0]),
        },
        f"/dashboard/objections/{items['objection']}/answer": {
            "outcome": "rejected",
            "answer": "维持",
        },
        f"/dashboard/complaints/{items['complaint']}/status": {"status": "accepted"},
        f"/dashboard/complaints/{items['complaint']}/route": {"authority_uscc": token.authority},
        f"/dashboard/alerts/{items['alert']}/resolve": {"how": "reason", "reason": "不构成犯罪"},
        f"/dashboard/repairs/{items['repair']}/decide": {"decision": "approve"},
    }
    for path, form in posts.items():
        for sent in (form, {**form, "csrf_token": "forged"}):
            answer = client.post(path, data=sent)
            assert answer.status_code == 400, path
            assert "CSRF 校验失败" in answer.get_data(as_text=True)
    assert _audited(session) == before
    assert session.get(ListEntry, items["mine"][0]).status == "proposed"


def test_another_authoritys_items_are_refused_and_untouched(client, session, two):
    token, items = two
    work.login(client, token.secret)
    before = _audited(session)
    csrf = _csrf(client, "/dashboard/queue")
    refusals = [
        (
            "/dashboard/queue/decide",
            {
                "decision": "confirm",
                "scope": "selected",
                "ids": [str(items["mine"][0]), str(items["entry"])],
            },
            "由其他机关决定",
        ),
        (
            f"/dashboard/objections/{items['objection']}/answer",
            {"outcome": "rejected", "answer": "维持原记录"},
            "由其他机关处理",
        ),
        (
            f"/dashboard/complaints/{items['complaint']}/status",
            {"status": "accepted"},
            "不由本机关处理",
        ),
        (
            f"/dashboard/alerts/{items['alert']}/resolve",
            {"how": "reason", "reason": "不构成犯罪"},
            "属于其他机关",
        ),
        (
            f"/dashboard/repairs/{items['repair']}/decide",
            {"decision": "approve"},
            "由其他机关处理",
        ),
        (
            f"/dashboard/complaints/{items['complaint']}/route",
            {"authority_uscc": token.authority},
            "只有管理员可以分派举报",
        ),
    ]
    for path, form, said in refusals:
        answer = client.post(path, data={**form, "csrf_token": csrf}, follow_redirects=True)
        assert said in answer.get_data(as_text=True), path
    _fresh(session)
    assert {session.get(ListEntry, i).status for i in [items["entry"], *items["mine"]]} == {
        "proposed"
    }
    assert session.get(Objection, items["objection"]).status == "open"
    complaint = session.get(Complaint, items["complaint"])
    assert complaint.status == "received"
    assert complaint.authority_uscc != token.authority
    assert session.get(Alert, items["alert"]).status == "open"
    assert session.get(Repair, items["repair"]).status == "pending"
    assert _audited(session) == before
    report = client.get(f"/dashboard/imports/{items['batch']}/report")
    assert report.status_code == 403
    assert "不属于本机关" in report.get_data(as_text=True)
    assert report.mimetype == "text/html"


def test_regulator_sees_only_its_own_work(client, two):
    token, items = two
    work.login(client, token.secret)
    for path, hidden in (
        ("/dashboard/queue", f">{items['entry']}<"),
        ("/dashboard/objections", f"objection-{items['objection']}"),
        ("/dashboard/complaints", f"complaint-{items['complaint']}"),
        ("/dashboard/alerts", f"alert-{items['alert']}"),
        ("/dashboard/repairs", f"repair-{items['repair']}"),
        ("/dashboard/imports", "2026年11月处罚决定.csv"),
    ):
        page = client.get(path)
        assert page.status_code == 200, path
        assert hidden not in page.get_data(as_text=True), path
    queue = client.get("/dashboard/queue").get_data(as_text=True)
    assert "<strong>2</strong> 个待确认条目符合筛选条件" in queue


def test_admin_sees_all_but_cannot_decide_and_a_stale_selection_is_refused(
    client, session, api_factory, two
):
    token, _items = two
    admin = api_factory.token("admin", None, name="平台管理员")
    api_factory.commit()
    work.login(client, admin.secret)
    queue = client.get("/dashboard/queue").get_data(as_text=True)
    assert "<strong>3</strong> 个待确认条目符合筛选条件" in queue
    assert 'name="decision"' not in queue
    answer = client.post(
        "/dashboard/queue/decide",
        data={"decision": "confirm", "scope": "all", "csrf_token": work.csrf_of(queue)},
        follow_redirects=True,
    )
    assert "管理员只能查看" in answer.get_data(as_text=True)

    client.post("/dashboard/logout", data={"csrf_token": work.csrf_of(queue)})
    work.login(client, token.secret)
    page = client.get("/dashboard/queue").get_data(as_text=True)
    work.proposals(api_factory, token.authority, 1)  # arrives while the page is open
    api_factory.commit()
    stale = client.post(
        "/dashboard/queue/decide",
        data={
            "decision": "confirm",
            "scope": "all",
            "expected_count": "2",
            "reason": "告知期满",
            "csrf_token": work.csrf_of(page),
        },
    )
    assert stale.status_code == 409
    assert "现在匹配 3 个待确认条目，而不是 2 个" in stale.get_data(as_text=True)
    _fresh(session)
    assert (
        session.execute(
            select(func.count()).select_from(ListEntry).where(ListEntry.status == "active")
        ).scalar_one()
        == 0
    )


def test_an_objection_answered_as_corrected_writes_a_new_version(client, session, api_factory):
    from registry.records.models import Penalty

    ours = api_factory.authority()
    token = api_factory.token("regulator", ours)
    objection = work.objection(api_factory, ours)
    api_factory.commit()
    work.login(client, token.secret)
    page = client.get("/dashboard/objections").get_data(as_text=True)
    nothing = client.post(
        f"/dashboard/objections/{objection.id}/answer",
        data={"outcome": "corrected", "csrf_token": work.csrf_of(page)},
        follow_redirects=True,
    )
    assert "更正须至少填写一项更正后的内容" in nothing.get_data(as_text=True)
    done = client.post(
        f"/dashboard/objections/{objection.id}/answer",
        data={
            "outcome": "corrected",
            "fine_wan": "3",
            "content": "罚款3万元",
            "answer": "经核查，罚款金额登记有误，已更正。",
            "csrf_token": work.csrf_of(page),
        },
        follow_redirects=True,
    )
    assert f"异议 {objection.id} 已答复：已更正。" in done.get_data(as_text=True)
    _fresh(session)
    answered = session.get(Objection, objection.id)
    assert (answered.status, answered.outcome) == ("answered", "corrected")
    penalty = session.get(Penalty, answered.penalty_id)
    assert (penalty.version, str(penalty.fine_wan.normalize()), penalty.content) == (
        answered.corrected_version,
        "3",
        "罚款3万元",
    )


def test_a_whole_page_is_decided_without_ticking_each_entry(client, session, api_factory):
    """ "本页全部": the entries the page shows, no more — without JavaScript, the page's
    ids travel with the form."""
    import re

    ours = api_factory.authority()
    token = api_factory.token("regulator", ours)
    ids = work.proposals(api_factory, ours, 60)
    api_factory.commit()
    work.login(client, token.secret)
    page = client.get("/dashboard/queue").get_data(as_text=True)
    shown = [int(i) for i in re.findall(r'name="ids" value="(\d+)"', page)]
    assert "本页全部 50 个条目" in page
    assert len(shown) == 50
    done = client.post(
        "/dashboard/queue/decide",
        data={
            "decision": "confirm",
            "scope": "page",
            "page_ids": [str(i) for i in shown],
            "reason": "告知期满，当事人未陈述申辩",
            "csrf_token": work.csrf_of(page),
        },
        follow_redirects=True,
    )
    assert "已确认列入 50 个名单条目。" in done.get_data(as_text=True)
    _fresh(session)
    statuses = {i: session.get(ListEntry, i).status for i in ids}
    assert {i for i, s in statuses.items() if s == "active"} == set(shown)
    assert sum(1 for s in statuses.values() if s == "proposed") == 10
