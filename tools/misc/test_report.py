# Copyright (c) softgate-mmpose contributors. Apache License 2.0.
"""Run the test suite and summarise it in markdown: the figures the README
quotes.

Runs pytest on ``tests/`` in this process (pytest's usual output first), then
prints and writes a short markdown summary: how many tests passed, failed,
were skipped (with the reasons) or deselected, how many of them are marked
``slow``, the session's wall time and the part the slow tests took, the
slowest tests, and the machine (CPU model, the instruction set torch's CPU
kernels use, usable cores, load average before and after, and the reference
conv figure measured after the session), with the date, commit and
versions. The exit status is pytest's.

Examples:
    make test-report      # the whole suite, as `make test` runs it
    python tools/misc/test_report.py --out work_dirs/test_report.md
    # any pytest arguments after --
    python tools/misc/test_report.py -- -m "not slow"
"""
import argparse
import os
import os.path as osp
import platform
import shlex
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from importlib import metadata
from typing import Dict, Optional

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class OutcomeRecorder:
    """A pytest plugin recording each test's outcome, duration and ``slow``
    mark."""

    def __init__(self) -> None:
        self.tests: Dict[str, dict] = {}
        self.deselected = 0
        self.wall = 0.
        self._start = 0.

    def pytest_sessionstart(self, session) -> None:
        self._start = time.perf_counter()

    def pytest_deselected(self, items) -> None:
        self.deselected += len(items)

    def pytest_runtest_logreport(self, report) -> None:
        test = self.tests.setdefault(
            report.nodeid,
            dict(
                outcome='passed',
                duration=0.,
                slow='slow' in report.keywords,
                reason=''))
        test['duration'] += report.duration
        if report.failed:
            test['outcome'] = 'failed' if report.when == 'call' else 'error'
        elif report.skipped and test['outcome'] == 'passed':
            test['outcome'] = 'xfailed' if hasattr(report,
                                                   'wasxfail') else 'skipped'
            if isinstance(report.longrepr,
                          tuple):  # (file, line, 'Skipped: reason')
                test['reason'] = report.longrepr[2].replace('Skipped: ', '', 1)

    def pytest_sessionfinish(self, session, exitstatus) -> None:
        self.wall = time.perf_counter() - self._start


def load_average() -> Optional[float]:
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return None


def git_commit() -> str:
    proc = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'],
                          cwd=ROOT,
                          capture_output=True,
                          text=True)
    if proc.returncode != 0:
        return 'unknown'
    dirty = subprocess.run(
        ['git', 'status', '--porcelain', '--untracked-files=no'],
        cwd=ROOT,
        capture_output=True,
        text=True).stdout.strip()
    return proc.stdout.strip() + (' with local changes' if dirty else '')


def reference_figure() -> str:
    """The machine's reference conv figure at torch's thread count."""
    import torch

    from softgate_mmpose.utils.machine import reference_conv_gmacs
    ref = reference_conv_gmacs(threads=torch.get_num_threads())
    return (f'{ref["description"]}, {ref["threads"]} threads: '
            f'{ref["gmac_per_s"]:.1f} GMAC/s')


def minutes(seconds: float) -> str:
    return f'{int(seconds // 60)}:{seconds % 60:04.1f}'


def render(recorder: OutcomeRecorder, machine: dict, top: int = 10) -> str:
    """The markdown summary of one recorded session."""
    tests = recorder.tests.values()
    counts = Counter(t['outcome'] for t in tests)
    ran = [t for t in tests if t['outcome'] != 'skipped']
    slow = [t for t in ran if t['slow']]
    slow_time = sum(t['duration'] for t in slow)
    load = ', '.join(f'{v:.2f}' if v is not None else 'n/a'
                     for v in machine['load'])
    outcome = ', '.join(f'{counts[k]} {k}'
                        for k in ('passed', 'failed', 'error', 'skipped',
                                  'xfailed')
                        if counts[k] or k in ('passed', 'failed', 'skipped'))
    lines = [
        '## Test report',
        '',
        f'`{machine["command"]}` on {machine["date"]}, '
        f'commit {machine["commit"]}:',
        '',
        f'- **{outcome}**' +
        (f', {recorder.deselected} deselected' if recorder.deselected else '')
        + f'; {len(slow)} of the tests that ran are marked `slow`.',
        f'- Wall time **{minutes(recorder.wall)}** (m:ss, the pytest '
        'session, set-up excluded); '
        f'the slow tests took {minutes(slow_time)} of it, the others '
        f'{minutes(sum(t["duration"] for t in ran) - slow_time)}.',
        f'- Machine: {machine["cpu"]} ({machine["isa"]} kernels), '
        f'{machine["cores"]} usable cores, load average (1 min) {load} '
        f'before / after; reference conv {machine["reference"]}; '
        f'Python {machine["python"]}, torch {machine["torch"]}.',
    ]
    if top and ran:
        lines += [
            '', f'Slowest {min(top, len(ran))} tests:', '',
            '| test | s | slow |', '|---|---:|:-:|'
        ]
        by_time = sorted(
            recorder.tests.items(), key=lambda kv: -kv[1]['duration'])
        for nodeid, t in by_time[:top]:
            slow_mark = 'yes' if t['slow'] else ''
            lines.append(f'| `{nodeid}` | {t["duration"]:.1f} | {slow_mark} |')
    reasons = Counter(t['reason'] for t in tests if t['outcome'] == 'skipped')
    if reasons:
        lines += ['', 'Skipped:', '']
        lines += [f'- {n} × {reason}' for reason, n in reasons.most_common()]
    return '\n'.join(lines) + '\n'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Run the test suite and write a markdown summary of it')
    parser.add_argument(
        '--out',
        default=osp.join('work_dirs', 'test_report.md'),
        help='markdown file to write (default: %(default)s)')
    parser.add_argument(
        '--top', type=int, default=10, help='how many slowest tests to list')
    parser.add_argument(
        'pytest_args',
        nargs='*',
        help='arguments for pytest (after --); default: tests')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    os.chdir(ROOT)
    pytest_args = args.pytest_args or ['tests']
    recorder = OutcomeRecorder()
    load_before = load_average()
    date = datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')
    status = pytest.main(pytest_args, plugins=[recorder])

    load_after = load_average()
    # Imported after the session, so that the tests import the plugin
    # themselves.
    import torch

    from softgate_mmpose.utils import atomic_write_text
    from softgate_mmpose.utils.machine import cpu_name, usable_cores
    machine = dict(
        command=shlex.join(
            ['python', 'tools/misc/test_report.py', *sys.argv[1:]]),
        date=date,
        commit=git_commit(),
        cpu=cpu_name(),
        cores=usable_cores(),
        isa=torch.backends.cpu.get_cpu_capability(),
        reference=reference_figure(),
        load=(load_before, load_after),
        python=platform.python_version(),
        torch=metadata.version('torch'))
    report = render(recorder, machine, top=args.top)
    print('\n' + report)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    atomic_write_text(args.out, report)
    print(f'written to {args.out}')
    return int(status)


if __name__ == '__main__':
    sys.exit(main())
