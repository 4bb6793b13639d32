"""Issue 20: the credit report — numbered per entity and day, carrying every public
fact, verifiable by number and code (a tampered code fails), telling whether its facts
still hold; a valid code with no records gets "查无不良信用记录", not 404.  And the
list page's CSV download."""

from __future__ import annotations

import csv
import io
import re

from registry.records.demo import make_uscc
from tests.public.conftest import TODAY, objection


def _report(client, uscc) -> tuple[str, str, str]:
    response = client.get(f"/entities/{uscc}/report")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    number = re.search(r'class="report-number">([^<]+)<', html).group(1)
    code = re.search(r'class="report-code">([^<]+)<', html).group(1)
    return number, code, html


def _verify(client, number, code):
    response = client.post("/api/v1/public/reports/verify", json={"number": number, "code": code})
    assert response.status_code == 200, response.json
    return response.json


def test_a_report_is_numbered_per_entity_and_day_and_verifies(session, client, listed):
    session.commit()
    number, code, html = _report(client, listed.uscc)
    assert number == f"XYBG-{TODAY:%Y%m%d}-{listed.uscc}-001"
    assert re.fullmatch(r"[A-Z2-7]{4}(-[A-Z2-7]{4}){4}", code)
    for fact in (
        "信用报告",
        "出具机构",
        "深市监罚〔2026〕88号",
        "深圳市市场监督管理局",
        "限制参加政府采购活动",
        "总局令第44号",
        "违法事实",
        "数据来源",
        "抽查检查结果",
        # the conclusion counts each group apart: an abnormal-operations entry is not a
        # dishonesty listing
        "行政处罚信息 1 条，列入严重失信主体名单 1 项、经营异常名录 0 项。",
    ):
        assert fact in html, fact
    assert "含经营异常名录" not in html
    # the same facts the same day: the same report
    assert _report(client, listed.uscc)[:2] == (number, code)

    verdict = _verify(client, number, code)
    assert verdict["genuine"] is True
    assert verdict["facts_hold"] is True
    assert verdict["report"]["uscc"] == listed.uscc
    assert verdict["report"]["counts"] == {"penalties": 1, "lists": 1, "inspections": 0}
    # typed in lower case with spaces: still the same code
    assert _verify(client, number, code.lower().replace("-", " "))["genuine"] is True


def test_a_tampered_code_or_number_fails(session, client, listed):
    session.commit()
    number, code, _ = _report(client, listed.uscc)
    flipped = ("A" if code[0] != "A" else "B") + code[1:]
    assert _verify(client, number, flipped) == {
        "genuine": False,
        "facts_hold": None,
        "report": None,
        "changed": [],
    }
    assert _verify(client, number[:-1] + "2", code)["genuine"] is False
    bad = client.post("/api/v1/public/reports/verify", json={"number": "123", "code": code})
    assert bad.status_code == 422
    assert bad.json["error"]["message"].startswith("报告编号格式不正确")
    page = client.get("/reports/verify", query_string={"number": number, "code": flipped})
    assert "核验未通过" in page.get_data(as_text=True)


def test_facts_that_changed_since_are_told(session, client, listed, factory):
    session.commit()
    number, code, _ = _report(client, listed.uscc)
    factory.penalty(listed.uscc, authority_uscc=listed.authority)
    session.commit()
    verdict = _verify(client, number, code)
    assert verdict["genuine"] is True
    assert verdict["facts_hold"] is False
    assert verdict["changed"] == ["公示中的行政处罚信息已变化"]
    page = client.get("/reports/verify", query_string={"number": number, "code": code})
    text = page.get_data(as_text=True)
    assert "报告真实" in text
    assert "报告所载信息已发生变化" in text
    # a new report that day has the next number
    assert _report(client, listed.uscc)[0].endswith("-002")


def test_an_objection_does_not_change_the_facts(session, client, listed):
    session.commit()
    number, code, _ = _report(client, listed.uscc)
    objection(session, listed.uscc, listed.authority, penalty_id=listed.penalty.id)
    session.commit()
    assert _verify(client, number, code)["facts_hold"] is True


def test_a_valid_code_without_records_gets_a_clean_report(session, client, factory):
    import random

    unknown = make_uscc(random.Random(5), "310115", "9", "1")
    clean = factory.entity("上海恒信精密机械有限公司", factory.uscc("310115"))
    session.commit()
    missing = client.get(f"/entities/{unknown}")
    assert missing.status_code == 404
    assert f"/entities/{unknown}/report" in missing.get_data(as_text=True)
    for uscc in (unknown, clean.uscc):
        number, code, html = _report(client, uscc)
        assert "查无不良信用记录" in html
        assert _verify(client, number, code)["facts_hold"] is True


def test_the_report_as_pdf_carries_the_chinese_text_and_code(session, client, listed, factory):
    from pypdf import PdfReader

    factory.penalty(
        listed.uscc, authority_uscc=listed.authority, decision_number="深市监罚〔2026〕90号"
    )
    session.commit()
    number, code, _ = _report(client, listed.uscc)
    response = client.get(f"/entities/{listed.uscc}/report.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "深市监罚〔2026〕88号" in text
    assert number in text
    assert code in text
    assert "限制参加政府采购活动" in text
    assert "深市监罚〔2026〕90号" in text
    # two penalties and one entry: two pages, not three half-empty ones
    assert len(reader.pages) <= 2
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    # Debian's Noto Sans CJK embedded (subset), and no other face for the text
    assert any(f.endswith("+Noto-Sans-CJK-SC") for f in fonts), fonts
    assert not [f for f in fonts if "Serif" in f], fonts


def test_the_list_downloads_as_excel_friendly_formula_safe_csv(session, client, listed, factory):
    evil = factory.entity('=HYPERLINK("http://x")有限公司', factory.uscc("440305"))
    factory.list_entry(evil.uscc, authority_uscc=listed.authority)
    session.commit()
    response = client.get("/lists/samr_serious.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:3] == ["名称", "统一社会信用代码", "登记地"]
    names = {r[0] for r in rows[1:]}
    assert "深圳市华鑫科技有限公司" in names
    assert '\'=HYPERLINK("http://x")有限公司' in names
    listed_row = next(r for r in rows[1:] if r[1] == listed.uscc)
    assert "深圳市市场监督管理局" in listed_row
    assert "深市监罚〔2026〕88号" in listed_row


def test_the_list_sorts_and_filters(session, client, listed, factory):
    other = factory.entity("阿里巴巴测试有限公司", factory.uscc("330106"))
    factory.list_entry(other.uscc, since=TODAY.replace(day=1))
    session.commit()
    by_name = client.get("/api/v1/public/lists/samr_serious/entries").json
    assert by_name["total"] == 2
    page = client.get("/lists/samr_serious?sort=name").get_data(as_text=True)
    assert page.index("阿里巴巴测试有限公司") < page.index("深圳市华鑫科技有限公司")
    page = client.get("/lists/samr_serious?region=33").get_data(as_text=True)
    assert "阿里巴巴测试有限公司" in page
    assert "深圳市华鑫科技有限公司" not in page
    page = client.get(f"/lists/samr_serious?authority={listed.authority}").get_data(as_text=True)
    assert "深圳市华鑫科技有限公司" in page
    assert "阿里巴巴测试有限公司" not in page
    assert '<option value="44"' in page  # the regions on the list, by name


def test_the_issuer_is_the_deployments_own(session, database_url, listed):
    from api import create_app
    from registry.core.runtime import Runtime
    from tests.conftest import make_config

    session.commit()
    issuer = "某市公共信用信息中心"
    rt = Runtime(make_config(database_url, records={"report_issuer": issuer}))
    try:
        client = create_app(runtime=rt).test_client()
        html = _report(client, listed.uscc)[2]
    finally:
        rt.dispose()
    assert issuer in html
    assert "公示登记机关）" not in html  # not the default name, anywhere on the report
