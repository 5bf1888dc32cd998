"""A fuzzer in the suite: every hostile input of ``hostile_cases`` (flow files, config,
spec flows, flowconf.py, the command line) must end with exit 1, 4 or 5, output naming
the file or the option, no traceback from flowrun's own code, and no hang.

Cases that may hang or raise a signal run as real processes with a timeout; the rest run
in-process through the ``project`` fixture (much faster). The default run takes a fixed
sample spread over every category; ``-m slow`` runs the whole table.
"""
from __future__ import annotations

import pytest

import hostile_cases
from hostile_cases import Case, build, problems, run_subprocess

CASES = hostile_cases.all_cases()
#: Every 12th case, plus each category's first: ~45 cases, well under 30 s.
SAMPLE = [c for i, c in enumerate(CASES) if i % 12 == 0
          or c is next(x for x in CASES if x.category == c.category)]


def _check(case: Case, project) -> None:
    build(case, project.path)
    if case.subprocess:
        code, output = run_subprocess(case, project.path, timeout=30)
        assert code is not None, f"{case.id}: no answer within 30 s:\n{output}"
    else:
        result = project.run(*case.args)
        code, output = result.exit_code, result.output
    found = problems(case, code, output)
    assert not found, f"{case.id}: {'; '.join(found)}\n--- output ---\n{output}"


def test_table_is_large_and_covers_every_kind_of_input():
    categories = {c.category for c in CASES}
    assert len(CASES) >= 300
    assert categories == {"flow file", "config", "spec flow", "flowconf.py", "command line"}
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", SAMPLE, ids=[c.id for c in SAMPLE])
def test_hostile_input_sample_gets_one_clear_error(case: Case, project) -> None:
    _check(case, project)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_every_hostile_input_gets_one_clear_error(case: Case, project, request) -> None:
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("the whole table runs with -m slow (the default run takes a sample)")
    _check(case, project)
