"""The thread-team runtime's solo rule (csrc/threads.c), through its replay hook.

After a parallel job, a team whose helpers (or whose caller) did less than half
their fair share of the pieces came late; after two late teams in a row the next
jobs run on the calling thread alone: 4, then twice as many after each further
late team in a row, at most 32. The first team after a run alone is not judged,
a team on time ends the doubling, and jobs of fewer than 4 pieces per thread or of
one thread are not judged. FASTNN_SOLO=0 turns the rule off. The replay hook feeds
reports to the rule from a fresh state and returns, for each, how many jobs the
rule then runs alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

import pytest

import fastnn
from fastnn import _ops

# the rule's constants (csrc/threads.c)
FIRST_RUN, MAX_RUN = 4, 32
MIN_PIECES_PER_THREAD = 4

PIECES = 100
ON_TIME = (2, PIECES // 2, PIECES)       # each thread did half
HELPERS_LATE = (2, 10, PIECES)           # the helper did 10 of its 50
CALLER_LATE = (2, 90, PIECES)            # the caller did 10 of its 50


def replay(*reports):
    return _ops.solo_rule_replay(reports)


def test_one_late_team_alone_keeps_the_team():
    assert replay(HELPERS_LATE) == [0]
    assert replay(HELPERS_LATE, ON_TIME, HELPERS_LATE, ON_TIME) == [0, 0, 0, 0]


@pytest.mark.parametrize("late", [HELPERS_LATE, CALLER_LATE], ids=["helpers", "caller"])
def test_two_late_teams_in_a_row_start_a_run_alone(late):
    assert replay(late, late) == [0, FIRST_RUN]


def test_the_first_team_after_a_run_alone_is_not_judged():
    # the third report follows the run: late or on time, it changes nothing
    assert replay(HELPERS_LATE, HELPERS_LATE, HELPERS_LATE) == [0, FIRST_RUN, 0]
    assert replay(HELPERS_LATE, HELPERS_LATE, ON_TIME, HELPERS_LATE) == [0, FIRST_RUN, 0, 2 * FIRST_RUN]


def test_runs_double_while_teams_keep_coming_late_up_to_the_most():
    got = replay(*[HELPERS_LATE] * 12)
    # the second late team starts a run; from then on every other team is the unjudged
    # one after a run, and each team between them, late again, starts a longer run
    expected, run = [0], FIRST_RUN
    while len(expected) < 12:
        expected += [run, 0]
        run = min(2 * run, MAX_RUN)
    assert got == expected[:12]
    assert got[-3:] == [MAX_RUN, 0, MAX_RUN]


def test_a_team_on_time_ends_the_doubling_and_the_streak():
    got = replay(HELPERS_LATE, HELPERS_LATE, HELPERS_LATE, ON_TIME, HELPERS_LATE, HELPERS_LATE)
    assert got == [0, FIRST_RUN, 0, 0, 0, FIRST_RUN]


@pytest.mark.parametrize("nthreads", [2, 3, 4, 8])
def test_late_means_less_than_half_a_fair_share(nthreads):
    pieces = 40 * nthreads
    helpers_share, caller_share = pieces * (nthreads - 1) // nthreads, pieces // nthreads
    just_late_helpers = (nthreads, helpers_share // 2 - 1, pieces)
    half_helpers = (nthreads, helpers_share // 2, pieces)
    just_late_caller = (nthreads, pieces - (caller_share // 2 - 1), pieces)
    half_caller = (nthreads, pieces - caller_share // 2, pieces)
    assert replay(just_late_helpers, just_late_helpers) == [0, FIRST_RUN]
    assert replay(half_helpers, half_helpers) == [0, 0]
    assert replay(just_late_caller, just_late_caller) == [0, FIRST_RUN]
    assert replay(half_caller, half_caller) == [0, 0]


def test_jobs_with_few_pieces_per_thread_are_not_judged():
    few = (2, 0, 2 * MIN_PIECES_PER_THREAD - 1)
    enough = (2, 0, 2 * MIN_PIECES_PER_THREAD)
    assert replay(few, few, few) == [0, 0, 0]
    assert replay(enough, enough) == [0, FIRST_RUN]
    # an unjudged job neither breaks nor extends a streak
    assert replay(HELPERS_LATE, few, HELPERS_LATE) == [0, 0, FIRST_RUN]


def test_one_thread_jobs_are_not_judged():
    alone = (1, 0, PIECES)
    assert replay(alone, alone, alone) == [0, 0, 0]
    assert replay(HELPERS_LATE, alone, HELPERS_LATE) == [0, 0, FIRST_RUN]


def test_each_replay_starts_fresh():
    first = replay(HELPERS_LATE, HELPERS_LATE)
    assert replay(HELPERS_LATE) == [0]  # the streak of the replay before does not carry over
    assert replay(HELPERS_LATE, HELPERS_LATE) == first
    assert replay() == []


@pytest.mark.parametrize("bad", [[(2, 1)], [(0, 0, 10)], [(2, 11, 10)], [(2, -1, 10)]])
def test_replay_refuses_malformed_reports(bad):
    with pytest.raises(ValueError, match="report"):
        _ops.solo_rule_replay(bad)


def _replay_in_fresh_interpreter(env_value):
    """The replay of two late teams in a new Python with FASTNN_SOLO set (None: unset)."""
    code = (
        "import json; from fastnn import _ops; "
        f"print(json.dumps(_ops.solo_rule_replay([{HELPERS_LATE}, {HELPERS_LATE}])))"
    )
    env = {k: v for k, v in os.environ.items() if k != "FASTNN_SOLO"}
    if env_value is not None:
        env["FASTNN_SOLO"] = env_value
    # the child imports the same fastnn as this process, from a neutral directory
    root = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in [env.get("PYTHONPATH")] if p])
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, cwd=tempfile.gettempdir())
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_fastnn_solo_0_turns_the_rule_off():
    assert _replay_in_fresh_interpreter("0") == [0, 0]


@pytest.mark.parametrize("value", [None, "1", ""])
def test_the_rule_is_on_unless_fastnn_solo_is_0(value):
    assert _replay_in_fresh_interpreter(value) == [0, FIRST_RUN]
