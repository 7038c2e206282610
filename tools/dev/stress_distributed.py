"""Run the multi-process tests again and again while other processes keep
every core busy: the check of docs/distributed.md ("Under load") for rare,
load-dependent failures of several processes (not in the default suite).

Each run is ``python -m pytest -q -x -p no:cacheprovider TESTS [-k EXPR]``
in a fresh process; meanwhile ``--load`` busy-looping processes (default:
one per core) compete for the CPUs. After each run no process it started may
remain (checked by an environment marker, whatever the session). Prints one
line per run (result, seconds, load average) and a summary; exit status 1
when a run failed or left a process. Busy loops are stopped at the end.

Example:
    python tools/dev/stress_distributed.py --runs 20
    python tools/dev/stress_distributed.py --runs 5 -k probe --log-dir work/stress
"""
import argparse
import os
import os.path as osp
import signal
import subprocess
import sys
import time
import uuid

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)
from tests.processes import processes_marked  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--runs', type=int, default=20, help='runs (20)')
    parser.add_argument('--load', type=int, default=os.cpu_count(),
                        help='busy-looping processes (default: one per core)')
    parser.add_argument('--tests', nargs='+', default=['tests/test_distributed.py'],
                        help='test files or node ids (tests/test_distributed.py)')
    parser.add_argument('-k', help="pytest's -k expression")
    parser.add_argument('--log-dir', help='write each failed run\'s output here')
    parser.add_argument('--stop-on-fail', action='store_true')
    return parser.parse_args(argv)


def busy_loops(num: int) -> list:
    code = 'while True: pass'
    return [subprocess.Popen([sys.executable, '-c', code]) for _ in range(num)]


def one_run(args, index: int) -> dict:
    marker = f'MSCLR_STRESS_RUN={uuid.uuid4().hex}'
    env = dict(os.environ, OMP_NUM_THREADS='1', **dict([marker.split('=')]))
    env['PYTHONPATH'] = os.pathsep.join(
        [ROOT] + [p for p in [os.environ.get('PYTHONPATH')] if p])
    cmd = [sys.executable, '-m', 'pytest', '-q', '-x', '-p', 'no:cacheprovider',
           *args.tests] + (['-k', args.k] if args.k else [])
    start = time.time()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True,
                              text=True)
    except BaseException:  # interrupted: nothing of this run may remain
        for pid in processes_marked(marker):
            os.kill(pid, signal.SIGKILL)
        raise
    seconds = time.time() - start
    time.sleep(1)
    strays = processes_marked(marker)
    for pid in strays:
        os.kill(pid, signal.SIGKILL)
    summary = (proc.stdout.strip().splitlines() or [''])[-1]
    ok = proc.returncode == 0 and not strays
    if not ok and args.log_dir:
        os.makedirs(args.log_dir, exist_ok=True)
        with open(osp.join(args.log_dir, f'run{index:02d}.log'), 'w') as f:
            f.write(proc.stdout + proc.stderr)
    return dict(ok=ok, seconds=seconds, summary=summary, strays=len(strays),
                load=os.getloadavg()[0])


def main(argv=None):
    args = parse_args(argv)
    # SIGTERM (e.g. a time limit) stops it as Ctrl-C does, cleaning up
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    loops = busy_loops(args.load)
    results = []
    print(f'{args.runs} runs of {" ".join(args.tests)}'
          f'{" -k " + args.k if args.k else ""} with {args.load} busy loops on '
          f'{os.cpu_count()} cores', flush=True)
    try:
        for i in range(1, args.runs + 1):
            res = one_run(args, i)
            results.append(res)
            print(f'run {i:2d}: {"passed" if res["ok"] else "FAILED"} in '
                  f'{res["seconds"]:.0f} s, load {res["load"]:.1f}: '
                  f'{res["summary"]}'
                  + (f'; {res["strays"]} processes left (killed)'
                     if res['strays'] else ''), flush=True)
            if not res['ok'] and args.stop_on_fail:
                break
    finally:
        for proc in loops:
            proc.kill()
            proc.wait()
    passed = sum(r['ok'] for r in results)
    print(f'{passed} of {len(results)} runs passed')
    return 0 if passed == len(results) == args.runs else 1


if __name__ == '__main__':
    sys.exit(main())
