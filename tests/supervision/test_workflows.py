"""Inspection results and publication, case transfers and the untransferred report,
quality commitments — through the API and the public pages, and never for another
authority."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from registry.core.audit import verify_chain

SEED = "seed-2026-11"


def _drawn_task(client, factory, regulator, make_task, n: int = 3) -> tuple[int, list[str]]:
    names = ["深圳市鲜味食品有限公司", "深圳市百味餐饮管理有限公司", "深圳市南海食品贸易有限公司"]
    codes = [factory.entity(name=names[i % 3]).uscc for i in range(n)]
    factory.commit()
    task_id = make_task(ratios={"A": "1", "B": "1", "C": "1", "D": "1"})
    drawn = client.post(
        f"/api/v1/inspections/tasks/{task_id}/draw", json={"seed": SEED}, headers=regulator.headers
    )
    assert drawn.status_code == 200, drawn.json
    return task_id, codes


def test_results_are_public_once_published_and_not_before(
    client, session, factory, regulator, make_task
):
    task_id, codes = _drawn_task(client, factory, regulator, make_task)
    result = client.post(
        f"/api/v1/inspections/tasks/{task_id}/results",
        json={
            "uscc": codes[0],
            "outcome": "corrected",
            "findings": "未按规定公示年度报告，已责令限期改正",
            "inspected_on": "2026-11-29",
        },
        headers=regulator.headers,
    )
    assert result.status_code == 200, result.json
    assert result.json["outcome_label"] == "发现问题，已责令改正"

    # Not yet published: unknown to the public, absent from pages.
    assert client.get(f"/api/v1/public/inspections/{task_id}").status_code == 404
    assert client.get("/api/v1/public/inspections").json["total"] == 0
    assert client.get(f"/inspections/{task_id}").status_code == 404
    page = client.get(f"/entities/{codes[0]}").get_data(as_text=True)
    assert "暂无已公示的抽查检查结果" in page
    assert "已责令限期改正" not in page
    assert client.get(f"/api/v1/public/entities/{codes[0]}/supervision").json["inspections"] == []

    published = client.post(
        f"/api/v1/inspections/tasks/{task_id}/publish", headers=regulator.headers
    )
    assert published.status_code == 200
    assert published.json["published_on"] == "2026-11-29"

    public = client.get(f"/api/v1/public/inspections/{task_id}").json
    assert public["seed"] == SEED
    assert public["draw_sha256"]
    shown = {i["uscc"]: i for i in public["items"]}
    assert shown[codes[0]]["outcome"] == "corrected"
    assert shown[codes[1]]["outcome"] is None
    assert all("grade" not in i and "rank" not in i for i in public["items"])
    listing = client.get("/inspections").get_data(as_text=True)
    assert "2026年第四季度双随机抽查" in listing
    task_page = client.get(f"/inspections/{task_id}").get_data(as_text=True)
    assert SEED in task_page
    assert "已责令限期改正" in task_page
    assert "结果待公示" in task_page
    assert "李明" in task_page or "陈芳" in task_page or "王强" in task_page or "张伟" in task_page
    entity_page = client.get(f"/entities/{codes[0]}").get_data(as_text=True)
    assert "发现问题，已责令改正" in entity_page
    assert "已责令限期改正" in entity_page

    # A result entered after publication waits for the next one.
    client.post(
        f"/api/v1/inspections/tasks/{task_id}/results",
        json={"uscc": codes[1], "outcome": "no_problem", "inspected_on": "2026-11-29"},
        headers=regulator.headers,
    )
    assert client.get(f"/api/v1/public/entities/{codes[1]}/supervision").json["inspections"] == []
    client.post(f"/api/v1/inspections/tasks/{task_id}/publish", headers=regulator.headers)
    later = client.get(f"/api/v1/public/entities/{codes[1]}/supervision").json["inspections"]
    assert [r["outcome_label"] for r in later] == ["未发现问题"]
    assert verify_chain(session)[1] is None


def test_result_input_is_checked(client, factory, regulator, make_task):
    task_id, codes = _drawn_task(client, factory, regulator, make_task, n=1)
    stranger = factory.entity().uscc
    factory.commit()
    url = f"/api/v1/inspections/tasks/{task_id}/results"
    for uscc, outcome, inspected_on, status, field in (
        (codes[0], "no_problem", "2026-12-30", 422, "inspected_on"),  # in the future
        (stranger, "no_problem", "2026-11-29", 404, None),  # not drawn
        (codes[0], "fine", "2026-11-29", 422, "outcome"),  # no such outcome
    ):
        body = {"uscc": uscc, "outcome": outcome, "inspected_on": inspected_on}
        answer = client.post(url, json=body, headers=regulator.headers)
        assert answer.status_code == status, (body, answer.json)
        if field is not None:
            assert field in answer.json["error"]["details"]
    bad_ratio = client.post(
        "/api/v1/inspections/tasks",
        json={"title": "t", "authority_name": "a", "ratios": {"A": "1.5"}},
        headers=regulator.headers,
    )
    assert bad_ratio.status_code == 422
    assert bad_ratio.json["error"]["details"] == {"ratios.A": ["应为 0 到 1 之间的比例，如 0.05"]}


def test_another_authority_cannot_touch_a_task(
    client, factory, regulator, other_regulator, department, make_task
):
    task_id, codes = _drawn_task(client, factory, regulator, make_task, n=1)
    for method, path, body in (
        ("get", f"/api/v1/inspections/tasks/{task_id}", None),
        (
            "put",
            f"/api/v1/inspections/tasks/{task_id}/inspectors",
            {"inspectors": [{"code": "1", "name": "x", "region": "44"}]},
        ),
        ("post", f"/api/v1/inspections/tasks/{task_id}/draw", {"seed": "x", "dry_run": True}),
        (
            "post",
            f"/api/v1/inspections/tasks/{task_id}/results",
            {"uscc": codes[0], "outcome": "no_problem", "inspected_on": "2026-11-29"},
        ),
        ("post", f"/api/v1/inspections/tasks/{task_id}/publish", None),
    ):
        answer = getattr(client, method)(path, json=body, headers=other_regulator.headers)
        assert answer.status_code == 403, (path, answer.json)
        assert answer.json["error"]["code"] == "forbidden"
    assert (
        client.get("/api/v1/inspections/tasks", headers=other_regulator.headers).json["total"] == 0
    )
    assert client.get("/api/v1/inspections/tasks", headers=department.headers).status_code == 403
    assert client.post(f"/api/v1/inspections/tasks/{task_id}/publish").status_code == 401


def test_transfer_resolves_the_alert_and_leaves_the_report(
    client, session, factory, regulator, other_regulator
):
    entity = factory.entity()
    transferred = factory.penalty(
        entity.uscc,
        regulator.authority,
        violation_type="假冒注册商标",
        business_volume_wan=Decimal("8"),
    )
    declined = factory.penalty(
        entity.uscc,
        regulator.authority,
        violation_type="侵犯著作权",
        illegal_gains_wan=Decimal("4"),
    )
    alert = factory.alert(transferred)
    other_alert = factory.alert(declined)
    factory.commit()

    report = client.get("/api/v1/reports/untransferred", headers=regulator.headers).json
    assert report["total"] == 2
    assert report["open"] == 2
    assert {i["penalty_id"] for i in report["items"]} == {transferred.id, declined.id}
    assert (
        client.get("/api/v1/reports/untransferred", headers=other_regulator.headers).json["total"]
        == 0
    )

    url = f"/api/v1/penalties/{transferred.id}/transfers"
    body = {
        "police_unit": "深圳市公安局南山分局",
        "transferred_on": "2026-11-20",
        "case_number": "深南公刑〔2026〕88号",
    }
    assert client.post(url, json=body, headers=other_regulator.headers).status_code == 403
    made = client.post(url, json=body, headers=regulator.headers)
    assert made.status_code == 201, made.json
    assert client.post(url, json=body, headers=regulator.headers).status_code == 409
    alerts = client.get("/api/v1/alerts?status=resolved", headers=regulator.headers).json["items"]
    assert [(a["id"], a["resolution"].startswith("transferred")) for a in alerts] == [
        (alert.id, True)
    ]

    # The other alert is closed with a reason: still reported, with the reason.
    resolved = client.post(
        f"/api/v1/alerts/{other_alert.id}/resolve",
        json={"reason": "经核实违法所得未达立案追诉标准"},
        headers=regulator.headers,
    )
    assert resolved.status_code == 200
    report = client.get("/api/v1/reports/untransferred", headers=regulator.headers).json
    assert [i["penalty_id"] for i in report["items"]] == [declined.id]
    assert report["declined"] == 1
    assert report["open"] == 0
    assert report["items"][0]["not_transferred_reason"] == "经核实违法所得未达立案追诉标准"

    # The outcome arrives later.
    outcome = client.post(
        f"/api/v1/transfers/{made.json['id']}/outcome",
        json={"outcome": "公安机关已立案侦查", "outcome_on": "2026-11-27"},
        headers=regulator.headers,
    )
    assert outcome.status_code == 200
    assert outcome.json["outcome_on"] == "2026-11-27"
    listed = client.get(url, headers=regulator.headers).json["items"]
    assert [(t["police_unit"], t["outcome"]) for t in listed] == [
        ("深圳市公安局南山分局", "公安机关已立案侦查")
    ]
    assert verify_chain(session)[1] is None


def test_alert_resolved_with_a_transfer_keeps_working_and_takes_an_outcome(
    client, factory, regulator
):
    entity = factory.entity()
    penalty = factory.penalty(
        entity.uscc,
        regulator.authority,
        violation_type="假冒专利",
        business_volume_wan=Decimal("25"),
    )
    alert = factory.alert(penalty)
    factory.commit()
    answer = client.post(
        f"/api/v1/alerts/{alert.id}/resolve",
        json={"transfer": {"police_unit": "深圳市公安局", "outcome": "已立案"}},
        headers=regulator.headers,
    )
    assert answer.status_code == 200, answer.json
    assert client.get("/api/v1/reports/untransferred", headers=regulator.headers).json["total"] == 0
    items = client.get(f"/api/v1/penalties/{penalty.id}/transfers", headers=regulator.headers).json[
        "items"
    ]
    assert items[0]["outcome"] == "已立案"
    assert items[0]["outcome_on"] == "2026-11-29"


def test_commitment_is_shown_on_the_entity_page_until_withdrawn(
    client, session, factory, regulator, other_regulator
):
    entity = factory.entity(name="深圳市鲜味食品有限公司")
    factory.commit()
    body = {
        "uscc": entity.uscc,
        "products": "速冻水饺、汤圆",
        "standard": "Q/XW 001-2026",
        "statement": "本企业承诺按严于国家标准的企业标准组织生产。",
        "made_on": "2026-11-01",
    }
    made = client.post("/api/v1/commitments", json=body, headers=regulator.headers)
    assert made.status_code == 201, made.json
    page = client.get(f"/entities/{entity.uscc}").get_data(as_text=True)
    assert "速冻水饺、汤圆" in page
    assert "Q/XW 001-2026" in page
    public = client.get(f"/api/v1/public/entities/{entity.uscc}/supervision").json
    assert [c["products"] for c in public["commitments"]] == ["速冻水饺、汤圆"]

    url = f"/api/v1/commitments/{made.json['id']}/withdraw"
    assert (
        client.post(url, json={"reason": "x"}, headers=other_regulator.headers).status_code == 403
    )
    assert (
        client.post(url, json={"reason": "企业申请撤回"}, headers=regulator.headers).status_code
        == 200
    )
    assert client.post(url, json={"reason": "again"}, headers=regulator.headers).status_code == 409
    page = client.get(f"/entities/{entity.uscc}").get_data(as_text=True)
    assert "速冻水饺、汤圆" not in page
    assert "暂无公开的质量承诺" in page

    unknown = client.post(
        "/api/v1/commitments", json={**body, "uscc": factory.uscc()}, headers=regulator.headers
    )
    assert unknown.status_code == 422
    assert "uscc" in unknown.json["error"]["details"]
    future = client.post(
        "/api/v1/commitments", json={**body, "made_on": "2027-01-01"}, headers=regulator.headers
    )
    assert future.status_code == 422
    assert client.get("/api/v1/public/entities/123/supervision").status_code == 400
    assert verify_chain(session)[1] is None


def test_committed_only_scope_draws_entities_with_a_commitment(
    client, session, factory, regulator, make_task
):
    committed = factory.entity(name="深圳市鲜味食品有限公司")
    factory.entity(name="深圳市百味餐饮管理有限公司")
    factory.commit()
    client.post(
        "/api/v1/commitments",
        json={
            "uscc": committed.uscc,
            "products": "水饺",
            "statement": "承诺",
            "made_on": "2026-11-01",
        },
        headers=regulator.headers,
    )
    task_id = make_task(ratios={"B": "1"}, scope={"committed_only": True})
    draw = client.post(
        f"/api/v1/inspections/tasks/{task_id}/draw", json={"seed": "c"}, headers=regulator.headers
    ).json
    assert [d["uscc"] for d in draw["sample"]] == [committed.uscc]
    assert date.fromisoformat(draw["drawn_on"]) == date(2026, 11, 29)


def test_dashboard_shows_the_untransferred_count_of_the_authority(client, factory, regulator):
    import re

    entity = factory.entity()
    penalty = factory.penalty(
        entity.uscc,
        regulator.authority,
        violation_type="假冒注册商标",
        business_volume_wan=Decimal("9"),
    )
    factory.alert(penalty)
    factory.commit()
    login = client.get("/dashboard/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    client.post("/dashboard/login", data={"token": regulator.secret, "csrf_token": csrf})
    page = client.get("/dashboard/").get_data(as_text=True)
    assert "<strong>1</strong>达到追诉标准未移送" in page


def test_the_task_page_reads_as_labels_and_values_with_region_names_and_percentages(
    client, factory, regulator, make_task
):
    """Issue 20: each label sits with its own value (the seed under 随机种子, not under
    抽查范围), the scope names its region (上海市, not ``行政区划 31``), ratios are percent."""
    import re

    codes = [factory.entity(uscc=factory.uscc("310115"), name="上海恒信精密机械有限公司").uscc]
    factory.commit()
    task_id = make_task(
        scope={"regions": ["31"]}, ratios={"A": "0.03", "B": "0.2", "C": "0.1", "D": "0.3"}
    )
    client.post(
        f"/api/v1/inspections/tasks/{task_id}/draw", json={"seed": SEED}, headers=regulator.headers
    )
    client.post(f"/api/v1/inspections/tasks/{task_id}/publish", headers=regulator.headers)
    page = client.get(f"/inspections/{task_id}").get_data(as_text=True)
    pairs = dict(re.findall(r"<div[^>]*><dt>([^<]+)</dt><dd[^>]*>(.*?)</dd></div>", page, re.S))
    assert pairs["抽查范围"] == "上海市"
    assert SEED in pairs["随机种子"]
    assert "行政区划 31" not in page
    assert "<td>20%</td>" in page
    assert "<td>3%</td>" in page
    assert "<td>0.2</td>" not in page
    assert codes


def test_the_authority_lists_its_own_tasks_without_their_entities(
    client, factory, regulator, make_task
):
    task_id, _codes = _drawn_task(client, factory, regulator, make_task, n=1)
    answer = client.get("/api/v1/inspections/tasks", headers=regulator.headers)
    assert answer.status_code == 200, answer.json
    assert answer.json["total"] == 1
    [task] = answer.json["items"]
    assert task["id"] == task_id
    assert task["status"] == "drawn"
    assert "items" not in task  # the drawn entities are on the task's own page
