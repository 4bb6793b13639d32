"""``credit-registry evaluate`` (run, --dry-run against a candidate pack) and
``credit-registry rules check``, through the real CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from registry.core.audit import verify_chain
from registry.core.models import AuditEntry
from registry.evaluation.preview import preview
from registry.evaluation.runs import evaluate_all
from registry.lists.models import ListEntry
from rules import PACKS_DIR, load_pack
from tests.evaluation.factories import make_penalty, new_person, new_uscc, row_counts

REPEAT36 = PACKS_DIR / "repeat36.yaml"


def state(rt):
    with rt.sessions() as s:
        rows = row_counts(s)
        last = s.execute(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)).scalar()
        return rows, last


def _patent_pair(session, key=None, *, person=None, first, second):
    make_penalty(session, key, person=person, decided_on=first, violation_type="专利侵权")
    make_penalty(session, key, person=person, decided_on=second, violation_type="假冒专利")


def seed(session):
    """Subjects whose repeat-infringement outcome depends on the window (24 vs 36 months)."""
    s = {
        "thirty": new_uscc(),  # 30 months apart: only a 36-month window lists it
        "twenty": new_uscc(),  # 20 months apart: both windows
        "forty": new_uscc(),  # 40 months apart: neither
        "three": new_uscc(),  # 0, 20, 30 months: both, with a larger basis at 36 months
    }
    person = new_person(session)
    s["person"] = f"P:{person}"  # a natural person, 30 months apart
    _patent_pair(session, s["thirty"], first=date(2023, 1, 10), second=date(2025, 7, 10))
    _patent_pair(session, s["twenty"], first=date(2024, 1, 10), second=date(2025, 9, 10))
    _patent_pair(session, s["forty"], first=date(2022, 1, 10), second=date(2025, 5, 10))
    _patent_pair(session, s["three"], first=date(2022, 1, 5), second=date(2023, 9, 5))
    make_penalty(session, s["three"], decided_on=date(2024, 7, 5), violation_type="商标侵权")
    _patent_pair(session, person=person, first=date(2023, 2, 1), second=date(2025, 8, 1))
    session.commit()
    return s


def test_dry_run_with_repeat36_shows_exactly_the_extra_proposals(rt, session, invoke):
    s = seed(session)
    evaluate_all(rt)
    before = state(rt)

    result = invoke("evaluate", "--dry-run", "--rules", str(REPEAT36))

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    proposals = [line for line in lines if line.startswith("propose ")]
    assert len(proposals) == 2
    assert {line.split()[3] for line in proposals} == {s["thirty"], s["person"]}
    assert all(line.split()[1:3] == ["ip_serious", "repeat-infringement"] for line in proposals)
    [refresh] = [line for line in lines if line.startswith("refresh ")]
    assert s["three"] in refresh
    assert "nothing was written" in result.output
    assert "patent-priority-ban 2" in result.output  # pending confirmation
    assert state(rt) == before  # no row, no audit entry
    with rt.sessions() as session_:
        assert verify_chain(session_)[1] is None

    report = preview(rt, load_pack(REPEAT36))
    assert sorted(i.uscc for i in report.of("propose")) == sorted([s["thirty"], s["person"]])
    assert [i.uscc for i in report.of("refresh")] == [s["three"]]
    assert report.of("activate") == report.of("remove") == []
    assert report.by("list_type") == {"ip_serious": {"propose": 2, "refresh": 1}}
    assert report.measures_pending["patent-priority-ban"] == 2
    assert state(rt) == before


def test_dry_run_of_the_active_pack_after_a_run_changes_nothing(rt, session, invoke):
    seed(session)
    evaluate_all(rt)
    result = invoke("evaluate", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "No list entry would change." in result.output
    assert preview(rt).changes_nothing


def test_dry_run_before_any_run_lists_what_the_active_pack_would_do(rt, session, invoke):
    s = seed(session)
    before = state(rt)
    result = invoke("evaluate", "--dry-run", s["twenty"])
    assert result.exit_code == 0, result.output
    assert [line.split()[:2] for line in result.output.splitlines() if s["twenty"] in line] == [
        ["propose", "ip_serious"]
    ]
    assert state(rt) == before


def test_evaluate_all_codes_and_the_queue(rt, session, invoke):
    s = seed(session)
    one = invoke("evaluate", s["twenty"])
    assert one.exit_code == 0, one.output
    assert "评估 1 个主体" in one.output
    assert "拟列入 1，" in one.output
    every = invoke("evaluate", "--all")
    assert every.exit_code == 0, every.output
    assert "评估 5 个主体" in every.output
    assert "拟列入 1，" in every.output  # "twenty" was proposed already; "three" now
    queued = invoke("evaluate")
    assert queued.exit_code == 0, queued.output
    # Nothing waiting, said as much — with what the last run (the full one) did.
    assert queued.output.splitlines()[0] == "没有待处理的主体。"
    assert "（全量重新评估）规则评估 5 个主体：拟列入 1，" in queued.output
    with rt.sessions() as session_:
        listed = session_.execute(select(ListEntry.uscc)).scalars().all()
    assert sorted(listed) == sorted([s["twenty"], s["three"]])


def test_evaluate_refuses_bad_input(invoke):
    bad = invoke("evaluate", "91440300MA5FXXXXX1")
    assert bad.exit_code == 2
    assert "错误：" in bad.output
    both = invoke("evaluate", "--all", "914403001922038216")
    assert both.exit_code == 2
    live = invoke("evaluate", "--rules", str(REPEAT36))
    assert live.exit_code == 2
    assert "--dry-run" in live.output


def test_rules_check_passes_the_shipped_packs_and_fails_a_broken_one(invoke, tmp_path):
    ok = invoke("rules", "check")
    assert ok.exit_code == 0, ok.output
    pack = load_pack(PACKS_DIR / "default.yaml")
    assert ok.output.strip().startswith(f"通过：{len(pack.rules)} 条规则，")
    assert ok.output.strip().endswith(f"版本 {pack.version}")
    assert invoke("rules", "check", str(REPEAT36)).exit_code == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        REPEAT36.read_text(encoding="utf-8").replace(
            "default.yaml", str(PACKS_DIR / "default.yaml")
        )
        + "\n  - id: repeat-infringement\n    title: x\n    examples: []\n",
        encoding="utf-8",
    )
    bad = invoke("rules", "check", str(broken))
    assert bad.exit_code == 1
    assert "repeat-infringement" in bad.output
