"""The members file: one clear line per problem, naming the file, the key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest
from community_testing import FLAT

from community.members import MembersError, load_members

GOOD = f"""
[community]
name = "Rooftop"
scheme = "fr"

[[participant]]
id = "a"
role = "consumer"
consumption = "a.csv"
{FLAT}

[[participant]]
id = "roof"
role = "producer"
injection = {{ path = "roof.xml", flow = "reverse" }}
"""


def _errors(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "members.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MembersError) as info:
        load_members(path)
    return info.value.lines


def test_a_good_file_and_its_defaults(tmp_path: Path) -> None:
    path = tmp_path / "members.toml"
    path.write_text(GOOD)
    m, base = load_members(path)
    assert base == tmp_path.resolve()
    c = m.community
    assert (c.country, c.tz, c.allocation_key, c.slot_minutes) == ("FR", "Europe/Paris", "prorata", 15)
    assert m.participant[0].consumption is not None and m.participant[0].consumption.path == "a.csv"
    assert m.participant[1].injection is not None and m.participant[1].injection.flow == "reverse"


def test_every_problem_is_its_own_line(tmp_path: Path) -> None:
    text = (
        GOOD.replace('scheme = "fr"', 'scheme = "fr"\ncolour = "red"')
        .replace('role = "producer"', 'role = "seller"')
        .replace("vat_rate = 0.2", "vat_rate = 2")
    )
    lines = _errors(tmp_path, text)
    where = str(tmp_path / "members.toml")
    assert len(lines) == 3
    assert f"{where}: community.colour: unknown key (see docs/community.md)" in lines
    assert any(
        ln.startswith(
            f"{where}: participant[1] (roof).role: expected 'consumer', 'producer' or "
            "'prosumer', got 'seller'"
        )
        for ln in lines
    )
    assert any(
        ln.startswith(f"{where}: participant[0] (a).tariff.vat_rate: expected less than or equal to 1")
        for ln in lines
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            ('scheme = "fr"', 'scheme = "fr"\nkey = "static"'),
            "key = static needs share = for every consumer; missing: a",
        ),
        (('id = "a"', 'id = "a"\nshare = 0.5'), "share = is used only with key = static"),
        (('scheme = "fr"', 'scheme = "it"'), "scheme it (CER) needs an [italy] table"),
        (('id = "a"', 'id = "a b"'), "participant[0] (a b).id: expected"),
        (
            ('consumption = "a.csv"\n', ""),
            "a consumer needs consumption = (a file) or consumption_grid_operator =",
        ),
        ((FLAT, ""), "participant[0] (a): a consumer needs [participant.tariff]"),
        (
            ('scheme = "fr"', 'scheme = "fr"\ntimezone = "Mars/Olympus"'),
            "an IANA time zone like Europe/Paris",
        ),
        (('id = "roof"', 'id = "a"'), "participant ids must be unique"),
        (
            ('flow = "reverse"', 'flow = "sideways"'),
            "participant[1] (roof).injection.flow: expected 'forward' or",
        ),
    ],
)
def test_each_rule_says_what_was_expected(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    lines = _errors(tmp_path, GOOD.replace(*change, 1))
    assert len(lines) == 1 and expected in lines[0], lines


def test_static_shares_must_add_up_to_one_exactly(tmp_path: Path) -> None:
    text = GOOD.replace('scheme = "fr"', 'scheme = "fr"\nkey = "static"').replace(
        'id = "a"', 'id = "a"\nshare = 0.3'
    )
    text += f'\n[[participant]]\nid = "b"\nrole = "consumer"\nconsumption = "b.csv"\nshare = 0.6\n{FLAT}\n'
    [line] = _errors(tmp_path, text)
    assert "the consumers' shares must add up to 1, they add up to 0.9" in line
    path = tmp_path / "members.toml"
    path.write_text(text.replace("share = 0.6", "share = 0.7"))
    load_members(path)  # 0.3 + 0.7 is exactly 1 in decimal


def test_norway_rules(tmp_path: Path) -> None:
    text = GOOD.replace('scheme = "fr"', 'scheme = "no"\nkey = "cascade"')
    assert "scheme no (deling): the keys are equal, static or prorata" in _errors(tmp_path, text)[0]
    text = GOOD.replace('scheme = "fr"', 'scheme = "no"').replace('role = "producer"', 'role = "prosumer"')
    text = text.replace("injection = {", f'consumption = "r.csv"\n{FLAT}\ninjection = {{')
    assert "participants receiving production have no own production" in _errors(tmp_path, text)[0]


def test_unreadable_files_are_one_line(tmp_path: Path) -> None:
    assert _errors(tmp_path, "[community\nname=1")[0].startswith(
        f"{tmp_path / 'members.toml'}: not valid TOML"
    )
    with pytest.raises(MembersError, match="no such file"):
        load_members(tmp_path / "missing.toml")
