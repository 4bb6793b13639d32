"""Synthetic penalty records in the national layout, for demos, tests and benchmarks.

Believable rather than uniform: most penalties are small fines by market regulators,
a minority are IP and counterfeit cases, a few are heavy; codes are valid (both check
characters), names are Chinese company names from common parts, people have valid
resident ID numbers.  Deterministic for a given seed.
"""

from __future__ import annotations

import csv
import json
import random
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from registry.core import clock
from registry.core.codes import body_check_character, uscc_check_character
from registry.records.layout import EXTENSION_COLUMNS, NATIONAL_LAYOUT, PARTY_TYPES

CITIES = [
    ("110105", "北京", "朝阳区"),
    ("110108", "北京", "海淀区"),
    ("120101", "天津", "和平区"),
    ("310115", "上海", "浦东新区"),
    ("310104", "上海", "徐汇区"),
    ("320500", "苏州", "苏州市"),
    ("330106", "杭州", "西湖区"),
    ("350200", "厦门", "厦门市"),
    ("370200", "青岛", "青岛市"),
    ("420100", "武汉", "武汉市"),
    ("440305", "深圳", "南山区"),
    ("440106", "广州", "天河区"),
    ("500000", "重庆", "重庆市"),
    ("510100", "成都", "成都市"),
    ("610100", "西安", "西安市"),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉玲建国红梅林海波宇浩然晨阳欣怡子轩雨涵博文思远佳琪志强俊杰"  # noqa: E501
PREFIX = [
    "华",
    "中",
    "金",
    "鑫",
    "恒",
    "瑞",
    "宏",
    "天",
    "盛",
    "隆",
    "嘉",
    "永",
    "新",
    "东",
    "长",
    "泰",
    "安",
    "信",
    "达",
    "腾",
    "汇",
    "百",
    "联",
    "众",
    "创",
    "博",
    "亿",
    "万",
    "聚",
    "和",
]
TRADE = [
    ("服饰", "服装"),
    ("食品", "食品"),
    ("电子", "电子产品"),
    ("医药", "药品"),
    ("建材", "建材"),
    ("化妆品", "化妆品"),
    ("五金", "五金"),
    ("酒业", "白酒"),
    ("农资", "化肥"),
    ("科技", "软件"),
    ("商贸", "日用百货"),
    ("机械", "特种设备"),
    ("家居", "家具"),
    ("文化传媒", "图书"),
    ("汽配", "汽车配件"),
]
FORMS = ["有限公司", "有限责任公司", "股份有限公司", "商行", "贸易有限公司", "实业有限公司"]

# (weight, violation type, categories, fine range 万元, heavy?, ip?)
VIOLATIONS: list[tuple[int, str, list[str], tuple[float, float], dict[str, Any]]] = [
    (30, "未按规定公示年度报告", ["警告"], (0, 0), {}),
    (16, "生产销售不合格产品", ["罚款"], (0.2, 8), {}),
    (12, "虚假广告", ["罚款"], (0.5, 20), {}),
    (8, "销售侵犯注册商标专用权商品", ["罚款", "没收违法所得"], (0.5, 30), {"ip": True}),
    (6, "假冒专利", ["罚款", "没收违法所得"], (1, 40), {"ip": True}),
    (5, "以假充真、以次充好", ["罚款", "没收非法财物"], (1, 60), {"ip": True}),
    (5, "无照经营", ["警告", "罚款"], (0.1, 2), {}),
    (4, "特种设备未经检验投入使用", ["罚款", "责令停产停业"], (3, 50), {"heavy": True}),
    (4, "食品安全违法", ["罚款", "吊销许可证件"], (5, 120), {"heavy": True}),
    (3, "侵犯著作权", ["罚款", "没收违法所得"], (0.5, 15), {"ip": True}),
    (3, "价格违法", ["通报批评"], (0, 0), {}),
    (2, "商标侵权（从重处罚）", ["罚款", "降低资质等级"], (10, 200), {"ip": True, "heavy": True}),
    (2, "消防安全违法", ["罚款"], (0.5, 5), {}),
]
#: The article each violation is punished under (the basis a journalist would check).
BASIS = {
    "未按规定公示年度报告": "《企业信息公示暂行条例》第十八条",
    "生产销售不合格产品": "《中华人民共和国产品质量法》第四十九条",
    "虚假广告": "《中华人民共和国广告法》第五十五条",
    "销售侵犯注册商标专用权商品": "《中华人民共和国商标法》第六十条第二款",
    "假冒专利": "《中华人民共和国专利法》第六十八条",
    "以假充真、以次充好": "《中华人民共和国产品质量法》第五十条",
    "无照经营": "《无证无照经营查处办法》第十三条",
    "特种设备未经检验投入使用": "《中华人民共和国特种设备安全法》第八十四条",
    "食品安全违法": "《中华人民共和国食品安全法》第一百二十四条",
    "侵犯著作权": "《中华人民共和国著作权法》第五十三条",
    "价格违法": "《价格违法行为行政处罚规定》第七条",
    "商标侵权（从重处罚）": "《中华人民共和国商标法》第六十条第二款",
    "消防安全违法": "《中华人民共和国消防法》第六十条",
}
#: Who decides outside market regulation (by violation), as ``{city}`` + this.
OTHER_AUTHORITIES = {
    "侵犯著作权": "市文化市场综合行政执法总队",
    "消防安全违法": "市消防救援支队",
}
#: What the facts say, per violation (``{goods}``: what the entity trades in).
FACTS = {
    "未按规定公示年度报告": "当事人未在规定期限内报送并公示上一年度年度报告。",
    "生产销售不合格产品": "经监督抽查，当事人销售的{goods}经检验不合格。",
    "虚假广告": "当事人在其网店宣传{goods}时使用无法证实的功效用语，构成虚假广告。",
    "销售侵犯注册商标专用权商品": "当事人销售的{goods}经商标权利人鉴定为侵犯注册商标专用权的商品。",
    "假冒专利": "当事人在其销售的{goods}包装上标注他人专利号，构成假冒专利。",
    "以假充真、以次充好": "当事人在{goods}中以次充好，以不合格产品冒充合格产品销售。",
    "无照经营": "当事人未依法取得营业执照从事{goods}经营活动。",
    "特种设备未经检验投入使用": "当事人使用未经定期检验的特种设备从事生产经营。",
    "食品安全违法": "当事人经营超过保质期的食品，且未按规定查验进货凭证。",
    "侵犯著作权": "当事人未经著作权人许可复制发行其作品。",
    "价格违法": "当事人销售{goods}未按规定明码标价。",
    "商标侵权（从重处罚）": "当事人多次销售侵犯注册商标专用权的{goods}，经警告仍继续实施。",
    "消防安全违法": "当事人经营场所疏散通道堵塞，消防设施未保持完好有效。",
}


def make_uscc(rng: random.Random, division: str, authority: str = "9", kind: str = "1") -> str:
    body8 = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    first17 = authority + kind + division + body8 + body_check_character(body8)
    return first17 + uscc_check_character(first17)


# County-level divisions for birth places (a resident ID needs a county code).
_COUNTY = {
    "320500": "320506",
    "350200": "350203",
    "370200": "370202",
    "420100": "420102",
    "500000": "500103",
    "510100": "510104",
    "610100": "610102",
}


def _valid_from(division: str) -> int:
    """The first year the division code was in use (a birth must not precede it)."""
    from stdnum import numdb

    county = dict(numdb.get("cn/loc").info(division)[-1][1]).get("county", "")
    last = county.split(",")[-1]
    if last.startswith("[") and last[1:5].isdigit():
        return max(1965, int(last[1:5]))
    return 1965


def make_resident_id(rng: random.Random, division: str) -> str:
    division = _COUNTY.get(division, division)
    start = _valid_from(division)
    born = date(start, 1, 1) + timedelta(days=rng.randrange(0, (2004 - start) * 365))
    first17 = f"{division}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
    weights = [2 ** (17 - i) % 11 for i in range(17)]
    check = (12 - sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11) % 11
    return first17 + ("X" if check == 10 else str(check))


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _amount(rng: random.Random, lo: float, hi: float) -> Decimal:
    if hi <= 0:
        return Decimal("0")
    # Fines cluster at the low end: a log-uniform draw.
    value = lo * (hi / lo) ** rng.random() if lo > 0 else rng.uniform(0, hi)
    return Decimal(str(round(value, 4)))


def generate(n: int, seed: int = 2026, today: date | None = None) -> Iterator[dict[str, Any]]:
    """Yield ``n`` penalty records (English field names, Python values)."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    today = today or clock.today()
    authorities = []
    for division, city, _county in CITIES:
        code = make_uscc(rng, division, authority="1", kind="1")
        authorities.append((f"{city}市市场监督管理局", code, division, city))
    # The authority deciding a case is the one of the entity's own region: its district
    # bureau where the code names a district, else the city's (and, for copyright and
    # fire safety, that city's competent body).  A second generator makes their codes, so
    # the records' other draws stay what they were for a seed.
    local = _local_authorities(seed)
    # About two records per entity, some entities with many, as in real registers.
    n_entities = max(1, n // 2)
    entities: list[tuple[str, str, str, str, str]] = []
    weights = [w for w, *_ in VIOLATIONS]
    for seq in range(n):
        if entities and (len(entities) >= n_entities or rng.random() < 0.35):
            uscc, name, division, rep, rep_id = rng.choice(entities)
        else:
            division, city, _ = rng.choice(CITIES)
            trade, _goods = rng.choice(TRADE)
            name = f"{city}{rng.choice(PREFIX)}{rng.choice(PREFIX)}{trade}{rng.choice(FORMS)}"
            uscc = make_uscc(rng, division)
            rep = _person(rng)
            rep_id = make_resident_id(rng, division)
            entities.append((uscc, name, division, rep, rep_id))
        _w, violation, categories, (lo, hi), flags = rng.choices(VIOLATIONS, weights=weights)[0]
        auth_name, auth_code, _adiv, city = rng.choice(authorities)  # kept: the draws
        auth_name, auth_code = local[(division, violation)]
        city = next(c for d, c, _ in CITIES if d == division)
        goods = next((g for t, g in TRADE if t in name), "商品")
        decided = today - timedelta(days=rng.randrange(1, 5 * 365))
        fine = _amount(rng, lo, hi) if "罚款" in categories else None
        confiscated = (
            _amount(rng, 0.1, max(hi / 2, 0.2))
            if any(c.startswith("没收") for c in categories)
            else None
        )
        volume = _amount(rng, 0.5, 60) if flags.get("ip") else None
        gains = _amount(rng, 0.2, 20) if flags.get("ip") else None
        content = "、".join(categories)
        if fine:
            content += f"，罚款{fine}万元"
        yield {
            "party_name": name,
            "party_type": "organisation",
            "uscc": uscc,
            "legal_representative": rep,
            "legal_representative_id_type": "身份证",
            "legal_representative_id_number": rep_id,
            "decision_number": f"{_number_prefix(auth_name, city)}〔{decided.year}〕{seq + 1}号",
            "violation_type": violation,
            "facts": FACTS.get(violation, f"当事人{violation}，经查属实。").format(goods=goods),
            "basis": BASIS[violation],
            "categories": categories,
            "content": content,
            "fine_wan": fine,
            "confiscated_wan": confiscated,
            "licence_affected": "营业执照" if "吊销许可证件" in categories else None,
            "decided_on": decided,
            "valid_until": date(2099, 12, 31),
            "disclosure_deadline": None,
            "authority": auth_name,
            "authority_uscc": auth_code,
            "source_unit": f"{city}市市场监督管理局",
            "source_unit_uscc": authorities[[c for _d, c, _ in CITIES].index(city)][1],
            "remarks": None,
            "business_volume_wan": volume,
            "illegal_gains_wan": gains,
            "transferred_to_police": False,
            "aggravated": bool(flags.get("heavy")) and "从重" in violation,
        }


def _number_prefix(authority: str, city: str) -> str:
    """The decision number's prefix as the deciding body writes it: 深市监罚 for the
    city's bureau, 深南市监罚 for its 南山区 bureau, 京海市监罚 for Beijing's 海淀区,
    成文执罚 / 成消行罚决字 for the cultural-market and fire-rescue bodies."""
    head = {"北京": "京", "上海": "沪", "天津": "津", "重庆": "渝"}.get(city, city[:1])
    if "文化市场" in authority:
        return f"{head}文执罚"
    if "消防" in authority:
        return f"{head}消行罚决字"
    district = authority.removeprefix(f"{city}市").removesuffix("市场监督管理局")
    return f"{head}{district[:1]}市监罚" if district else f"{head}市监罚"


def _local_authorities(seed: int) -> dict[tuple[str, str], tuple[str, str]]:
    """The deciding authority's name and code for each (division, violation)."""
    rng = random.Random(seed + 1)  # noqa: S311 - synthetic data, not security
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for division, city, county in CITIES:
        bureau = f"{city}市{county}" if county != f"{city}市" else f"{city}市"
        regulator = (f"{bureau}市场监督管理局", make_uscc(rng, division, authority="1", kind="1"))
        others = {
            violation: (f"{city}{suffix}", make_uscc(rng, division, authority="1", kind="1"))
            for violation, suffix in OTHER_AUTHORITIES.items()
        }
        for _w, violation, *_rest in VIOLATIONS:
            out[(division, violation)] = others.get(violation, regulator)
    return out


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _rows(records: Iterator[dict[str, Any]]) -> Iterator[list[str]]:
    for rec in records:
        rec = dict(rec, party_type=PARTY_TYPES[rec["party_type"]])
        yield [_cell(rec.get(c.field)) for c in NATIONAL_LAYOUT + EXTENSION_COLUMNS]


def write_file(
    path: Path, n: int, fmt: str = "csv", seed: int = 2026, encoding: str = "gb18030"
) -> int:
    """Write ``n`` synthetic records to ``path`` (CSV with Chinese headers, JSONL with the
    English names, or XLSX); returns the number written."""
    headers = [c.header for c in NATIONAL_LAYOUT + EXTENSION_COLUMNS]
    records = generate(n, seed)
    count = 0
    if fmt == "csv":
        with path.open("w", encoding=encoding, newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(headers)
            for row in _rows(records):
                writer.writerow(row)
                count += 1
    elif fmt == "jsonl":
        with path.open("w", encoding="utf-8") as fh:
            for rec in records:
                fh.write(
                    json.dumps({k: _json(v) for k, v in rec.items()}, ensure_ascii=False) + "\n"
                )
                count += 1
    elif fmt == "xlsx":
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("行政处罚")
        ws.append(headers)
        for row in _rows(records):
            ws.append(row)
            count += 1
        wb.save(path)
    else:
        raise ValueError(f"unknown format {fmt!r}: use csv, jsonl or xlsx")
    return count


def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):
        return value.isoformat()
    return value
