"""Run every benchmark, one after the other, and write their figures to docs/benchmarks.md.

Each benchmark measures itself against a baseline in the same run (the official SDK,
``pandas.read_csv``, a float64 ``groupby``) and reports ratios; see each script's
docstring for what it measures.

Run (from the repository root; ``pip install -e '.[bench]'`` adds the official SDK)::

    .venv/bin/python benchmarks/run.py              # all, figures into the docs (~10 min)
    .venv/bin/python benchmarks/run.py --no-write   # all, figures only printed
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCHMARKS = [
    "bench_transport.py", "bench_pacing.py", "bench_frames.py", "bench_analysis.py",
    "bench_lake.py",
]


def main(argv: list[str]) -> int:
    failed = []
    for script in BENCHMARKS:
        print(f"== {script}", flush=True)
        if subprocess.call([sys.executable, str(HERE / script), *argv]) != 0:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
