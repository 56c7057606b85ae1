"""``cxsim run --set``: problems name --set; the values set are printed and recorded."""

from __future__ import annotations

import json

import pytest
from conftest import call

TINY = ["--customers", "2000", "--days", "3"]


@pytest.mark.parametrize("value, line", [
    ("touchpoints.chat.quality=1.5",
     "--set touchpoints.chat.quality=1.5: touchpoints.chat.quality must be in [0, 1], got 1.5"),
    ("teams.contact_center.headcount=8",
     "--set teams.contact_center.headcount=8: unknown parameter path "
     "'teams.contact_center.headcount': teams has no 'contact_center' (it has contact_centre)"),
    ("teams.contact_centre.headcount=8.5",
     "--set teams.contact_centre.headcount=8.5: teams.contact_centre.headcount is a whole "
     "number, got 8.5"),
    ("touchpoints.chat.quality",
     "--set touchpoints.chat.quality: expected PATH=VALUE, e.g. "
     "teams.contact_centre.headcount=14"),
    ("touchpoints.chat.quality=0.5,0.6",
     "--set touchpoints.chat.quality=0.5,0.6: takes one value (sweeps take several)"),
])
def test_set_problems_name_set(tmp_path, value, line):
    code, out, err = call(["run", *TINY, "--set", value, "--out", tmp_path / "r"])
    assert (code, out, err) == (2, "", line + "\n")
    assert "--param" not in err
    assert not (tmp_path / "r").exists()


def test_overrides_printed_and_recorded(tmp_path):
    code, out, err = call(["run", *TINY, "--set", "teams.contact_centre.headcount=30",
                           "--set", "touchpoints.chat.quality=0.9",
                           "--set", "touchpoints.chat.enabled=false", "--out", tmp_path / "r"])
    assert code == 0, err
    line = ("--set teams.contact_centre.headcount=30, touchpoints.chat.quality=0.9, "
            "touchpoints.chat.enabled=false")
    assert out.splitlines()[0] == line
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["overrides"] == {"teams.contact_centre.headcount": 30,
                                    "touchpoints.chat.quality": 0.9,
                                    "touchpoints.chat.enabled": False}
    # a folder with overrides in its summary is still drawn
    assert call(["plot", tmp_path / "r", "--quiet"])[0] == 0


def test_no_overrides(tmp_path):
    code, out, err = call(["run", *TINY, "--out", tmp_path / "r"])
    assert code == 0, err
    assert "--set" not in out
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["overrides"] == {}
