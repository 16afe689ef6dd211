"""Hostile inputs through the command line: how many are refused cleanly, and at what cost.

Runs every case of ``tests/model/hostile.py`` (configurations, layer stacks too big for
memory, data files, model files, run folders and output folders that lie, block or
explode) through ``main.py`` in a subprocess, each under an address-space limit and a time
limit, and prints one line per case and the figures: cases tried, clean refusals (exit
status 2, one ``error:`` line naming the problem), tracebacks, hangs, the slowest case and
the peak memory of any case.

    .venv/bin/python bench/hostile_inputs.py [--only WORDS] [--jobs N] [--baseline CHECKOUT]

With ``--baseline`` (another checkout of the project, e.g. ``git worktree add /tmp/base main``)
the same table runs against it too, and both sets of figures are printed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.model.hostile import ADDRESS_SPACE_LIMIT, Outcome, build_cases, problems, run_case  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run only the cases whose name holds this text")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once (default 2)")
    parser.add_argument("--baseline", type=Path, help="another checkout to run the same table against")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        cases = [c for c in build_cases(Path(folder)) if args.only in c.name]
        with ThreadPoolExecutor(args.jobs) as pool:
            outcomes: list[Outcome] = list(pool.map(run_case, cases))
            baseline = list(pool.map(lambda c: run_case(c, root=args.baseline), cases)) if args.baseline else []
    if baseline:
        print(f"baseline {args.baseline}:")
        report(baseline)
        print(f"\nthis checkout {ROOT}:")
    return report(outcomes)


def report(outcomes: list[Outcome]) -> int:
    """Print one line per case and the figures; 0 when every case was a clean refusal."""
    clean = 0
    for outcome in outcomes:
        found = problems(outcome)
        clean += not found
        message = outcome.stderr.strip().splitlines()[-1] if outcome.stderr.strip() else ""
        verdict = "ok  " if not found else "FAIL"
        print(
            f"{verdict} {outcome.case.name:<48} {outcome.seconds:5.1f} s {outcome.peak_rss_bytes / 1e6:7.0f} MB  "
            f"{message[:110] if not found else '; '.join(found)}"
        )
    tracebacks = sum("Traceback" in o.stderr for o in outcomes)
    hangs = sum(o.timed_out for o in outcomes)
    peak = max(o.peak_rss_bytes for o in outcomes)
    slowest = max(outcomes, key=lambda o: o.seconds)
    print()
    print(f"cases tried       {len(outcomes)}")
    print(f"clean refusals    {clean}")
    print(f"tracebacks        {tracebacks}")
    print(f"hangs             {hangs}")
    print(f"peak memory       {peak / 1e6:,.0f} MB (max RSS of any case; address space limited to {ADDRESS_SPACE_LIMIT / 2**30:.0f} GiB)")
    print(f"slowest case      {slowest.seconds:.1f} s ({slowest.case.name})")
    return 0 if clean == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
