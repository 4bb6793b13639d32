"""The national record layout for administrative penalties (行政处罚信息, DOMAIN.md §2):
our field name, the Chinese header and the standard's field code, in file order."""

from __future__ import annotations

from typing import NamedTuple


class Column(NamedTuple):
    field: str
    header: str
    code: str | None


NATIONAL_LAYOUT: tuple[Column, ...] = (
    Column("party_name", "行政相对人名称", "CF_XDR_MC"),
    Column("party_type", "行政相对人类别", "CF_XDR_LB"),
    Column("uscc", "统一社会信用代码", "CF_XDR_SHXYM"),
    Column("legal_representative", "法定代表人", "CF_FRDB"),
    Column("legal_representative_id_type", "法定代表人证件类型", "CF_FR_ZJLX"),
    Column("legal_representative_id_number", "法定代表人证件号码", "CF_FR_ZJHM"),
    Column("decision_number", "行政处罚决定书文号", "CF_WSH"),
    Column("violation_type", "违法行为类型", "CF_WFXW"),
    Column("facts", "违法事实", "CF_SY"),
    Column("basis", "处罚依据", "CF_YJ"),
    Column("categories", "处罚类别", "CF_CFLB"),
    Column("content", "处罚内容", "CF_NR"),
    Column("fine_wan", "罚款金额（万元）", "CF_NR_FK"),
    Column("confiscated_wan", "没收违法所得、没收非法财物的金额（万元）", "CF_NR_WFFF"),
    Column("licence_affected", "暂扣或吊销证照名称及编号", "CF_NR_ZKDX"),
    Column("decided_on", "处罚决定日期", "CF_JDRQ"),
    Column("valid_until", "处罚有效期", "CF_YXQ"),
    Column("disclosure_deadline", "公示截止期", "CF_GSJZQ"),
    Column("authority", "处罚机关", "CF_CFJG"),
    Column("authority_uscc", "处罚机关统一社会信用代码", "CF_CFJGDM"),
    Column("source_unit", "数据来源单位", "CF_SJLY"),
    Column("source_unit_uscc", "数据来源单位统一社会信用代码", "CF_SJLYDM"),
    Column("remarks", "备注", "BZ"),
)

#: Fields of natural-person parties and the registration number of individual businesses.
PERSON_COLUMNS: tuple[Column, ...] = (
    Column("id_type", "证件类型", "CF_XDR_ZJLX"),
    Column("id_number", "证件号码", "CF_XDR_ZJHM"),
    Column("registration_number", "工商注册号", "CF_XDR_GSZC"),
)

#: Our extensions (optional; English headers accepted too).
EXTENSION_COLUMNS: tuple[Column, ...] = (
    Column("business_volume_wan", "违法经营额", None),
    Column("illegal_gains_wan", "违法所得", None),
    Column("transferred_to_police", "是否移送公安", None),
    Column("transferred_on", "移送日期", None),
    Column("aggravated", "从重处罚", None),
)

ALL_COLUMNS = NATIONAL_LAYOUT + PERSON_COLUMNS + EXTENSION_COLUMNS

PARTY_TYPES = {
    "organisation": "法人及非法人组织",
    "natural_person": "自然人",
    "individual_business": "个体工商户",
}

CATEGORIES_2021 = (
    "警告",
    "通报批评",
    "罚款",
    "没收违法所得",
    "没收非法财物",
    "暂扣许可证件",
    "降低资质等级",
    "吊销许可证件",
    "限制开展生产经营活动",
    "责令停产停业",
    "责令关闭",
    "限制从业",
    "行政拘留",
    "其他",
)

#: Pre-2021 category names and what they map to.
CATEGORIES_OLD = {
    "警告": ("警告",),
    "罚款": ("罚款",),
    "没收违法所得、没收非法财物": ("没收违法所得", "没收非法财物"),
    "责令停产停业": ("责令停产停业",),
    "暂扣或者吊销许可证、执照": ("暂扣许可证件", "吊销许可证件"),
    "行政拘留": ("行政拘留",),
    "其他": ("其他",),
}
