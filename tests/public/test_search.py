"""Issue 20: search by any contiguous part of a code (six characters or more, e.g. from
its middle) and by a name typed in parts with spaces."""

from __future__ import annotations


def _found(client, q):
    response = client.get("/api/v1/public/search", query_string={"q": q})
    assert response.status_code == 200, response.json
    return [(i["uscc"], i["matched_by"]) for i in response.json["items"]]


def test_a_middle_fragment_of_a_code_finds_it(session, client, factory):
    entity = factory.entity("深圳市华鑫科技有限公司")
    other = factory.entity("深圳市另一家科技有限公司")
    session.commit()
    middle = entity.uscc[8:14]
    assert middle not in other.uscc
    assert _found(client, middle) == [(entity.uscc, "code")]
    assert _found(client, middle.lower()) == [(entity.uscc, "code")]
    # five characters are too few to search codes anywhere
    assert entity.uscc not in [c for c, _ in _found(client, entity.uscc[9:14])]
    page = client.get("/search", query_string={"q": middle}).get_data(as_text=True)
    assert entity.uscc in page


def test_a_name_typed_in_parts_with_spaces_finds_it(session, client, factory):
    chengdu = factory.entity("成都美丽化妆品有限公司", factory.uscc("510104"))
    suzhou = factory.entity("苏州佳美日用品有限公司", factory.uscc("320506"))
    factory.entity("成都锦江食品有限公司", factory.uscc("510104"))
    session.commit()
    assert _found(client, "成都 化妆品") == [(chengdu.uscc, "name")]
    assert _found(client, "苏州　佳美") == [(suzhou.uscc, "name")]  # a full-width space
    page = client.get("/search", query_string={"q": "成都 化妆品"}).get_data(as_text=True)
    assert "成都美丽化妆品有限公司" in page
