"""Whether a worker gets a scheduling group of its own (autogroup), read from /proc texts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model.worker_process.child import autogroup_from

V1_ROOT = "9:name=systemd:/\n4:memory:/process_api/e0f7\n2:cpuacct:/\n1:cpu:/\n0::/\n"
V1_NESTED = "2:cpu,cpuacct:/user.slice/app.scope\n1:memory:/\n"


def controls(table: dict[str, str]):
    def read(path: str) -> str:
        if path not in table:
            raise OSError(f"no {path}")
        return table[path]

    return read


@pytest.mark.parametrize(
    ("enabled", "cgroups", "table", "expected"),
    [
        ("1\n", V1_ROOT, {}, True),  # this machine: cgroup v1, the cpu hierarchy at its root
        ("0\n", V1_ROOT, {}, False),  # autogroup switched off
        ("1", V1_NESTED, {}, False),  # under a CPU controller of its own
        ("1", "0::/\n", {}, True),  # cgroup v2, at the root
        # cgroup v2 in a desktop's scope: the cpu controller is on at the root, so the
        # scope has a CPU group of its own and autogroup does not apply
        ("1", "0::/user.slice/app.scope\n", {"": "cpuset cpu io memory pids", "user.slice": "memory pids"}, False),
        # the same without the cpu controller anywhere above: still the root CPU group
        ("1", "0::/user.slice/app.scope\n", {"": "cpuset io memory pids", "user.slice": "memory pids"}, True),
        ("1", "0::/user.slice/app.scope\n", {}, False),  # unreadable: say no
        ("1", "", {}, False),
    ],
)
def test_autogroup_is_read_from_the_cgroup_texts(enabled: str, cgroups: str, table: dict[str, str], expected: bool) -> None:
    assert autogroup_from(enabled, cgroups, controls(table)) is expected


@given(st.text(), st.text(), st.dictionaries(st.text(max_size=20), st.text(max_size=40), max_size=4))
def test_any_text_gives_an_answer_and_nothing_escapes(enabled: str, cgroups: str, table: dict[str, str]) -> None:
    assert isinstance(autogroup_from(enabled, cgroups, controls(table)), bool)
