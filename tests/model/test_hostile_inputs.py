"""Whatever the input, the command line refuses it cleanly: the table of hostile inputs.

Every case of :mod:`tests.model.hostile` runs through ``main.py`` in a subprocess with a
time limit and an address-space limit, and must end with exit status 2 and one
``error:`` line naming the problem: no traceback, no hang, no runaway memory, none of
TensorFlow's log notes. ``bench/hostile_inputs.py`` runs the same table and prints the
figures (and, with ``--baseline``, those of another checkout).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.model.hostile import ADDRESS_SPACE_LIMIT, build_cases, problems, run_case


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    cases = build_cases(tmp_path_factory.mktemp("hostile"))
    with ThreadPoolExecutor(2) as pool:  # the cases are mostly waiting on start-up
        return {o.case.name: o for o in pool.map(run_case, cases)}


def test_the_table_covers_every_kind_of_input(tmp_path: Path) -> None:
    names = [case.name for case in build_cases(tmp_path)]
    assert len(names) == len(set(names)) >= 45
    for kind in ("config:", "stack:", "data:", "model:", "run:", "--out:", "--set:", "predict:"):
        assert any(name.startswith(kind) for name in names), kind


def test_every_hostile_input_is_refused_in_one_line(outcomes: dict[str, object]) -> None:
    failures = {name: problems(outcome) for name, outcome in outcomes.items()}  # type: ignore[arg-type]
    failures = {name: found for name, found in failures.items() if found}
    assert not failures, "\n".join(f"{name}: {'; '.join(found)}" for name, found in failures.items())


def test_no_case_used_runaway_memory(outcomes: dict[str, object]) -> None:
    # The limit makes a runaway allocation fail (which the table would report as a traceback
    # or a wrong exit status); well below it, every case stays under a gigabyte and a half.
    peak = max(o.peak_rss_bytes for o in outcomes.values())  # type: ignore[attr-defined]
    assert peak < min(1.5e9, ADDRESS_SPACE_LIMIT)
