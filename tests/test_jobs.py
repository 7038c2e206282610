"""JobRunner: commands with their logs, own CPU time, echoed progress, and
tasks run several at a time (tools/demo.py, tools/real_results.py)."""
import sys
from functools import partial

import pytest

from msclr_plugin.utils.jobs import JobRunner

SPIN = ('import time\n'
        'start = time.process_time()\n'
        'while time.process_time() - start < {cpu}: pass\n'
        "print('[tool] step 1/1, eta 0 s', flush=True)\n")


def test_tasks_in_order_with_own_cpu_time_and_progress(tmp_path, capsys):
    jobs = JobRunner('t')

    def task(i, cpu):
        log = tmp_path / f'{i}.log'
        jobs.run([sys.executable, '-c', SPIN.format(cpu=cpu)], str(log))
        return i, log.read_text()

    tasks = [(f'task {i}', partial(task, i, cpu)) for i, cpu in enumerate((0.6, 0.1, 0.1))]
    results = jobs.map(tasks, parallel=2)
    assert [i for i, _ in results] == [0, 1, 2]
    assert all('eta 0 s' in log for _, log in results)
    # each command's CPU time is its own, not its neighbours' (the first spins
    # 0.6 s while the others run beside it)
    cpu = {r['log'].rsplit('/', 1)[1]: r['cpu_seconds'] for r in jobs.records}
    assert cpu['0.log'] >= 0.6 and cpu['1.log'] < 0.6 and cpu['2.log'] < 0.6
    out = capsys.readouterr().out
    # echoed lines name their task; an overall count and ETA after each task
    assert '[t task 0]   [tool] step 1/1, eta 0 s' in out
    assert '[t] 3/3 tasks done' in out


def test_a_failing_task_stops_the_job(tmp_path):
    jobs = JobRunner('t')
    ran = []

    def task(i, code):
        ran.append(i)
        jobs.run([sys.executable, '-c', f'import sys; print("boom {i}"); sys.exit({code})'],
                 str(tmp_path / f'{i}.log'))

    tasks = [(f'task {i}', partial(task, i, code)) for i, code in enumerate((3, 0, 0, 0))]
    with pytest.raises(SystemExit, match=r'(?s)failed \(3\).*boom 0'):
        jobs.map(tasks, parallel=1)
    assert ran == [0]  # the tasks not started were cancelled


def test_threads_of_the_commands(tmp_path, monkeypatch):
    show = [sys.executable, '-c', "import os; print(os.environ['OMP_NUM_THREADS'])"]
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    JobRunner('t', threads=1).run(show, str(tmp_path / 'a.log'))
    assert (tmp_path / 'a.log').read_text().strip() == '1'
    # the user's setting wins
    monkeypatch.setenv('OMP_NUM_THREADS', '3')
    JobRunner('t', threads=1).run(show, str(tmp_path / 'b.log'))
    assert (tmp_path / 'b.log').read_text().strip() == '3'


TOOL = '''import multiprocessing, os, sys
import torch
print('argv', sys.argv[1:], 'cwd', os.getcwd(), 'main', __name__)
print('threads', os.environ['OMP_NUM_THREADS'], torch.get_num_threads())
print('start', multiprocessing.get_start_method(), 'path0', sys.path[0])
print('[tool] step 1/1, eta 0 s')
start = __import__('time').process_time()
while __import__('time').process_time() - start < 0.3:
    pass
sys.exit(int(sys.argv[1]))
'''


def test_preloaded_commands_run_as_a_fresh_interpreter_would(tmp_path, capsys, monkeypatch):
    """``preload=True``: a ``python <script>.py`` command forks from the
    server that imported torch/mmengine/mmaction once, yet sees what a
    fresh interpreter would: its argv, the repository root as cwd, the
    runner's thread count, the fresh start method, the script's folder
    first on sys.path; its output goes to its log, its progress lines to
    the console, its CPU time is its own, its exit status counts."""
    from msclr_plugin.utils.jobs import ROOT
    script = tmp_path / 'tool.py'
    script.write_text(TOOL)
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    jobs = JobRunner('t', threads=1, preload=True)
    logs = {}
    for name in ('plain', 'forked'):
        jobs.preload = name == 'forked'
        logs[name] = tmp_path / f'{name}.log'
        jobs.run([sys.executable, str(script), '0'], str(logs[name]))
        assert jobs.records[-1]['cpu_seconds'] >= 0.3
    assert logs['forked'].read_text() == logs['plain'].read_text()
    assert f"argv ['0'] cwd {ROOT} main __main__" in logs['forked'].read_text()
    assert 'threads 1 1' in logs['forked'].read_text()
    assert f'path0 {tmp_path}' in logs['forked'].read_text()
    assert '[t]   [tool] step 1/1, eta 0 s' in capsys.readouterr().out
    with pytest.raises(SystemExit, match=r'(?s)failed \(3\).*step 1/1'):
        jobs.run([sys.executable, str(script), '3'], str(tmp_path / 'fail.log'))


def test_without_a_preloaded_server_commands_start_fresh(tmp_path, capsys, monkeypatch):
    """Where the forkserver cannot start, the runner says so once and runs
    every command in a fresh interpreter."""
    from multiprocessing import forkserver

    def refuse():
        raise OSError('no unix sockets here')

    monkeypatch.setattr(forkserver, 'ensure_running', refuse)
    script = tmp_path / 'tool.py'
    script.write_text(TOOL)
    jobs = JobRunner('t', threads=1, preload=True)
    for name in ('a', 'b'):
        jobs.run([sys.executable, str(script), '0'], str(tmp_path / f'{name}.log'))
    assert jobs.preload is False
    assert 'main __main__' in (tmp_path / 'b.log').read_text()
    out = capsys.readouterr().out
    assert out.count('fresh interpreters: no preloaded server (no unix sockets here)') == 1
