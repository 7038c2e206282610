"""Pretrain-then-evaluate jobs run through the project's own tools.

Shared by tools/demo.py (the main job), tools/compare_methods.py and
tools/real_results.py: each step is a process running one of the tools
(``tools/train.py``, ``tools/probe_eval.py``, ...) with the command line a
user would type; every command, its log and wall time are recorded, and a
step whose final checkpoint already exists is not run again.
"""
import glob
import json
import multiprocessing
import os
import os.path as osp
import platform
import re
import resource
import runpy
import subprocess
import sys
import threading
import time
from concurrent.futures import CancelledError, ThreadPoolExecutor
from multiprocessing.connection import wait
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .progress import format_seconds

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


# mmengine's training/validation log lines: "... Epoch(train) [3][10/16]
# ... eta: 0:01:02 ... loss: 4.1 ..."
_MMENGINE_PROGRESS = re.compile(
    r'(Epoch\((?:train|val|test)\)\s+\[\d+\]\s*\[\s*\d+/\d+\]|'
    r'Iter\((?:train|val|test)\)\s+\[\s*\d+/\d+\]).*?eta: (\S+)')
_LOSS = re.compile(r'\sloss: (\S+)')


def progress_of(line: str) -> Optional[str]:
    """The line of a tool's output to echo on the console, condensed.

    mmengine log lines with an ETA become ``'Epoch(train) [3][10/16] eta
    0:01:02 loss 4.1'``; lines of the project's tools that carry an ETA or
    a result (``[tool] ...``) are kept as they are; anything else is None.
    """
    match = _MMENGINE_PROGRESS.search(line)
    if match:
        loss = _LOSS.search(line)
        return (f'{match.group(1)} eta {match.group(2)}' +
                (f' loss {loss.group(1)}' if loss else ''))
    if line.startswith('[') and ('eta' in line or 'top-1' in line):
        return line.rstrip()
    return None


# What every tool imports before it starts (about 4 s of CPU a command on
# the 2-core sandbox: torch, mmengine's runner and optimizers, mmaction's
# transforms with scipy.stats). With ``JobRunner(preload=True)`` a server
# process imports it once and each command forks from it
# (docs/benchmarks.md: the same digits, the main job 10:10 -> 8:52).
PRELOAD = ('msclr_plugin', 'msclr_plugin.evaluation', 'msclr_plugin.utils.launch',
           'mmengine.runner', 'mmaction.datasets')
_SERVER_LOCK = threading.Lock()


def _run_script(argv: Sequence[str], env: Dict[str, str], log: str, conn) -> None:
    """``python *argv`` in a process forked from the preloaded server, as
    the interpreter would run it: from the repository root, with ``env``,
    its output appended to ``log``. Sends its CPU time (with the workers
    it waited for) on ``conn``."""
    os.chdir(ROOT)
    os.environ.clear()
    os.environ.update(env)
    # the start method of a fresh interpreter (the server's is forkserver:
    # dataloader workers would re-import everything)
    multiprocessing.set_start_method(None, force=True)
    if 'OMP_NUM_THREADS' in env:
        import torch
        torch.set_num_threads(int(env['OMP_NUM_THREADS']))
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
        os.dup2(fd, stream.fileno())
        # each line reaches the log at once, as with PYTHONUNBUFFERED
        stream.reconfigure(line_buffering=True)
    os.close(fd)
    sys.argv = list(argv)
    sys.path[0] = osp.dirname(osp.abspath(argv[0]))
    try:
        runpy.run_path(argv[0], run_name='__main__')
    finally:
        # as at an interpreter's exit: daemonic children (dataloader
        # workers) end now, and their CPU time counts below
        for child in multiprocessing.active_children():
            if child.daemon:
                child.terminate()
            child.join()
        usage = [resource.getrusage(who)
                 for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        conn.send(sum(u.ru_utime + u.ru_stime for u in usage))


class JobRunner:
    """Run commands from the repository root, each into its own log; their
    progress lines (ETA) are echoed on the console, indented.

    Commands may run from several threads at once (:meth:`map`); each
    echoed line then names its task.

    Args:
        tag (str): Prefix of the progress lines.
        dry_run (bool): Print and record every command, run none.
        threads (int, optional): ``OMP_NUM_THREADS`` of the commands,
            unless the environment sets it. With tasks run one per core, 1:
            a second OpenMP thread contending for a busy core made a training
            step ~20x slower on 2 cores (docs/results.md).
        preload (bool): Run ``python <script>.py ...`` commands in processes
            forked from a server that has imported :data:`PRELOAD` once
            (multiprocessing's forkserver) instead of a fresh interpreter
            each: the same command line, output and digits, without the
            seconds of imports a command. Other commands run as subprocesses.
    """

    def __init__(self, tag: str, dry_run: bool = False,
                 threads: Optional[int] = None, preload: bool = False) -> None:
        self.tag = tag
        self.dry_run = dry_run
        self.preload = preload
        self.env = dict(os.environ, PYTHONUNBUFFERED='1')
        if threads is not None:
            self.env.setdefault('OMP_NUM_THREADS', str(threads))
        self.records: List[dict] = []
        self._local = threading.local()

    def _say(self, text: str) -> None:
        task = getattr(self._local, 'task', None)
        print(f'[{self.tag}{"" if task is None else " " + task}] {text}', flush=True)

    def _echo(self, line: str) -> None:
        shown = progress_of(line)
        if shown:
            self._say(f'  {shown}')

    def run(self, cmd: Sequence[str], log: str) -> None:
        """Run ``cmd``; exit with the log's tail if it fails."""
        cmd = [str(c) for c in cmd]
        self._say(f'$ {" ".join(cmd)}')
        if self.dry_run:
            self.records.append(dict(cmd=' '.join(cmd), log=log, seconds=None))
            return
        start = time.time()
        forked = (self.preload and len(cmd) > 1 and cmd[0] == sys.executable
                  and cmd[1].endswith('.py') and self._server_started())
        returncode, cpu = (self._fork if forked else self._subprocess)(cmd, log)
        seconds = time.time() - start
        # CPU time does not depend on what else the machine runs; wall time does
        self.records.append(dict(cmd=' '.join(cmd), log=log, seconds=round(seconds, 1),
                                 cpu_seconds=round(cpu, 1)))
        if returncode:
            with open(log) as f:
                tail = f.read()[-3000:]
            sys.exit(f'[{self.tag}] failed ({returncode}), see {log}:\n{tail}')
        self._say(f'  done in {seconds:.0f} s (log: {log})')

    def _subprocess(self, cmd: List[str], log: str) -> Tuple[int, float]:
        with open(log, 'w') as f:
            proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, text=True,
                                    env=self.env)
            for line in proc.stdout:
                f.write(line)
                self._echo(line)
            # wait4: this command's own CPU time (with its dataloader
            # workers), whatever else runs beside it
            _, status, usage = os.wait4(proc.pid, 0)
        return os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime

    def _server_started(self) -> bool:
        """Start the preloaded server once, with the commands' environment
        (the OpenMP runtime reads OMP_NUM_THREADS when torch loads it);
        False, and fresh interpreters from then on, where it cannot run."""
        with _SERVER_LOCK:
            if not self.preload:
                return False
            saved = dict(os.environ)
            os.environ.update(self.env)
            try:
                ctx = multiprocessing.get_context('forkserver')
                ctx.set_forkserver_preload(list(PRELOAD))
                from multiprocessing import forkserver
                forkserver.ensure_running()
            except (ValueError, OSError) as error:  # no forkserver here
                self._say(f'commands start in fresh interpreters: no preloaded server '
                          f'({error})')
                self.preload = False
            finally:
                os.environ.clear()
                os.environ.update(saved)
        return self.preload

    def _fork(self, cmd: List[str], log: str) -> Tuple[int, float]:
        ctx = multiprocessing.get_context('forkserver')
        open(log, 'w').close()
        receive, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_run_script, args=(cmd[1:], self.env, log, send))
        proc.start()
        send.close()
        pending = ''
        with open(log, errors='replace') as f:
            ended = False
            while not ended:
                ended = bool(wait([proc.sentinel], timeout=0.2))
                *lines, pending = (pending + f.read()).split('\n')
                for line in lines:
                    self._echo(line)
        proc.join()
        try:
            cpu = receive.recv()
        except EOFError:  # killed before it could say
            cpu = 0.0
        return proc.exitcode, cpu

    def map(self, tasks: Sequence[Tuple[str, Callable]], parallel: int = 1) -> list:
        """The results of ``fn()`` for every ``(name, fn)`` of ``tasks``, in
        order, up to ``parallel`` at a time (threads, each waiting on its
        commands), with an overall ETA after each task.

        With one OpenMP thread per command, ``parallel`` commands use as
        many cores. A task that fails stops the job: the tasks not started
        are cancelled, the running ones end, and the failure is raised.
        """
        start, done, lock = time.time(), [0], threading.Lock()
        failed = threading.Event()

        def one(name, fn):
            if failed.is_set():
                raise CancelledError(name)
            self._local.task = name
            try:
                result = fn()
            except BaseException:
                failed.set()
                raise
            with lock:
                done[0] += 1
                elapsed = time.time() - start
                eta = elapsed * (len(tasks) / done[0] - 1)
                print(f'[{self.tag}] {done[0]}/{len(tasks)} tasks done, '
                      f'{format_seconds(elapsed)}, eta {format_seconds(eta)}', flush=True)
            return result

        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            futures = [pool.submit(one, name, fn) for name, fn in tasks]
            # the first failure in task order (the others were cancelled)
            return [f.result() for f in futures]


def environment() -> dict:
    """Versions and machine of a results file."""
    import mmaction
    import mmengine
    import torch

    import msclr_plugin
    return dict(
        python=platform.python_version(), platform=platform.platform(),
        cpus=os.cpu_count(), torch=torch.__version__, torch_threads=torch.get_num_threads(),
        mmengine=mmengine.__version__, mmaction2=mmaction.__version__,
        numpy=np.__version__, msclr_plugin=msclr_plugin.__version__)


def add_jobs_arg(parser) -> None:
    """``--jobs``: tasks run at once, one core each; ``--no-preload``: each
    command in a fresh interpreter (:class:`JobRunner`'s ``preload``)."""
    parser.add_argument(
        '--jobs', type=int, default=min(4, os.cpu_count() or 1),
        help='pretrainings/evaluations run at once, one core each (default: the '
        'cores, at most 4)')
    parser.add_argument(
        '--no-preload', dest='preload', action='store_false',
        help='start every command in a fresh interpreter instead of forking it from '
        'one that has imported torch, mmengine and mmaction once (the same digits; '
        'about 4 s of CPU more a command)')


def finished(work_dir: str, epochs: int) -> bool:
    """Whether an earlier run already trained ``epochs`` in ``work_dir``."""
    return osp.isfile(osp.join(work_dir, f'epoch_{epochs}.pth'))


def last_checkpoint(work_dir: str) -> str:
    ckpts = glob.glob(osp.join(work_dir, 'epoch_*.pth'))
    if not ckpts:
        sys.exit(f'no checkpoint in {work_dir}')
    return max(ckpts, key=lambda p: int(p.rsplit('_', 1)[1][:-4]))


def save_initial_checkpoint(cfg, path: str) -> None:
    """The model of a config as initialised (``init_weights`` after seeding
    with the config's ``randomness.seed``, as ``tools/train.py --seed``
    does), saved as ``path``: the no-pretraining control of the evaluations
    (``tools/train.py --init-only``).

    Args:
        cfg (Config | str): The config (or its path).
        path (str): Checkpoint to write (``{'state_dict', 'meta'}``).
    """
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import set_random_seed

    from mmaction.registry import MODELS
    if not isinstance(cfg, Config):
        cfg = Config.fromfile(cfg)
    seed = (cfg.get('randomness') or {}).get('seed')
    set_random_seed(0 if seed is None else seed)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmaction')):
        model = MODELS.build(cfg.model)
    model.init_weights()
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(config=cfg.filename, seed=seed, epoch=0, iter=0)), path)


def pretrain_and_evaluate(jobs: JobRunner,
                          work: str,
                          name: str,
                          pretrain_cfg: Optional[str],
                          eval_cfg: str,
                          epochs: int,
                          seed: Optional[int] = None,
                          pretrain_opts: Sequence[str] = (),
                          eval_args: Sequence[str] = (),
                          eval_opts: Sequence[str] = ()) -> dict:
    """Pretrain an encoder, then every frozen-encoder evaluation of it.

    ``tools/train.py`` pretrains (``epochs == 0``: ``--init-only`` writes the
    model as initialised, the random-encoder control), then
    ``tools/probe_eval.py`` extracts the features once and gives kNN, the
    linear probe (with the ensemble and transfer tests when the encoder
    knows several conventions), cross-convention retrieval and the
    invariance tests. With no ``pretrain_cfg``, the raw-joints control:
    ``tools/probe_eval.py --raw-joints``, no encoder.

    Args:
        jobs (JobRunner): Runs and records the commands.
        work (str): Work directory; its entries are named ``name_*``.
        name (str): Name of the method (row).
        pretrain_cfg (str, optional): Pretraining config; None for the
            raw-joints control.
        eval_cfg (str): Linear-evaluation config of ``tools/probe_eval.py``.
        epochs (int): Pretraining epochs (to find or skip the run); 0 for
            the encoder as initialised.
        seed (int, optional): ``--seed`` of the pretraining (or
            initialisation) and of the probe.
        pretrain_opts (Sequence[str]): Extra ``--cfg-options`` of the
            pretraining.
        eval_args (Sequence[str]): Extra arguments of the evaluation (e.g.
            ``--repeat-takes REGEX``).
        eval_opts (Sequence[str]): ``--cfg-options`` of the evaluation (e.g.
            the data location).

    Returns:
        dict: The JSON of ``tools/probe_eval.py`` (its score dumps are in
        ``<work>/<name>_scores/``).
    """
    os.makedirs(work, exist_ok=True)
    py = sys.executable
    seed_args = [] if seed is None else ['--seed', str(seed)]
    pre_dir = osp.join(work, f'{name}_pretrain')
    if pretrain_cfg is None:
        encoder = ['--raw-joints']
    else:
        encoder = [osp.join(pre_dir, f'epoch_{epochs}.pth')]
        if not finished(pre_dir, epochs):
            # --plain-config: no yapf (about 1.4 s of CPU a run, docs/benchmarks.md)
            jobs.run([py, 'tools/train.py', pretrain_cfg, '--work-dir', pre_dir, *seed_args,
                      '--plain-config',
                      *(['--init-only'] if epochs == 0 else []),
                      '--cfg-options', f'train_cfg.max_epochs={max(epochs, 1)}',
                      *pretrain_opts],
                     osp.join(work, f'{name}_pretrain.log'))
    out = osp.join(work, f'{name}_eval.json')
    jobs.run([py, 'tools/probe_eval.py', eval_cfg, *encoder,
              '--out', out, '--dump-dir', osp.join(work, f'{name}_scores'), *seed_args,
              *eval_args,
              *(['--cfg-options', *eval_opts] if eval_opts else [])],
             osp.join(work, f'{name}_eval.log'))
    with open(out) as f:
        return json.load(f)


# Columns of the results tables: (name, title, format); values in percent
# except the median rank (of the reference clip's other rendering among all
# test clips in that convention) and the mean cosines (same clip in another
# convention; other clips in the same convention). OPTIONAL columns are
# shown only where some row has them.
COLUMNS = (('linear', 'linear top-1', '.1f'), ('knn', 'kNN top-1', '.1f'),
           ('ensemble', 'ensemble top-1', '.1f'), ('transfer', 'transfer top-1', '.1f'),
           ('retrieval', 'retrieval top-1', '.1f'),
           ('retrieval_rank', 'retrieval median rank', '.0f'),
           ('retrieval_unrepeated', 'retrieval top-1 without repeated takes', '.1f'),
           ('convention_probe', 'convention probe top-1', '.1f'),
           ('convention_mixing', 'convention mixing', '.3f'),
           ('cos_same_clip', 'cos same clip, other conv', '.3f'),
           ('cos_other_clip', 'cos other clip, same conv', '.3f'))
OPTIONAL = ('retrieval_unrepeated', )


def metric_of(result: dict, column: str) -> Optional[float]:
    """A column's value in one ``tools/probe_eval.py`` result, or None
    (e.g. no ensemble for a one-convention encoder)."""
    if column in ('linear', 'knn', 'ensemble', 'convention_probe'):
        entry = result.get(column)
        return None if entry is None else 100 * entry['top1']
    if column == 'convention_mixing':
        return result.get(column, {}).get('score')
    if column in ('cos_same_clip', 'cos_other_clip'):
        key = dict(cos_same_clip='same_clip_other_conv',
                   cos_other_clip='other_clip_same_conv')[column]
        return result.get('cosines', {}).get(key)
    if column == 'transfer':
        keys = sorted(k for k in result if k.startswith('transfer_to_'))
        return 100 * result[keys[0]]['top1'] if keys else None
    # retrieval of the reference convention's clips (tools/probe_eval.py
    # --repeat-takes: also without their repeated takes)
    key = 'retrieval_without_repeats' if column == 'retrieval_unrepeated' else 'retrieval'
    pairs = sorted(k for k in result.get(key, {})
                   if k.startswith(f'{result.get("reference")}->'))
    if not pairs:
        return None
    report = result[key][pairs[0]]
    return report['median_rank'] if column == 'retrieval_rank' else 100 * report['top1']


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    values = np.asarray(values, dtype=float)
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0


def pool_folds(results: Sequence[dict]) -> dict:
    """One ``tools/probe_eval.py`` result of several folds' (cross-validation:
    each fold's encoder on its own test clips), as if their test clips were
    one test set: every number is the mean of the folds' weighted by their
    test clips (a top-1 then counts the hits of all test clips), counts
    (``num_*``) and ``seconds`` are summed, the median rank is left out
    (None: medians do not pool), and other values that differ (the
    checkpoints) are listed. ``folds`` keeps the results given.
    """
    weights = np.array([r['num_test'] for r in results], dtype=float)

    def pool(values, key):
        if isinstance(values[0], dict):
            common = [k for k in values[0] if all(k in v for v in values)]
            return {k: pool([v[k] for v in values], k) for k in common}
        if key == 'median_rank':
            return None
        if key.startswith('num_') or key == 'seconds':
            return sum(values)
        if all(v == values[0] for v in values):
            return values[0]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
            return float(np.dot(weights, values) / weights.sum())
        return list(values)

    pooled = pool(list(results), '')
    pooled['folds'] = list(results)
    return pooled


def results_table(rows: Dict[str, Dict[int, dict]]) -> List[str]:
    """Markdown table: one row per method, mean +- sample std over its
    seeds of every column (``-`` where the method has no such number; an
    :data:`OPTIONAL` column only where some row has it)."""
    columns = [c for c in COLUMNS if c[0] not in OPTIONAL or any(
        metric_of(r, c[0]) is not None for per_seed in rows.values()
        for r in per_seed.values())]
    lines = ['| method | seeds | ' + ' | '.join(t for _, t, _ in columns) + ' |',
             '|---|---' + '|---' * len(columns) + '|']
    for method, per_seed in rows.items():
        cells = []
        for column, _, fmt in columns:
            values = [metric_of(r, column) for r in per_seed.values()]
            values = [v for v in values if v is not None]
            if not values:
                cells.append('-')
            elif len(values) == 1:
                cells.append(format(values[0], fmt))
            else:
                mean, std = mean_std(values)
                cells.append(f'{mean:{fmt}} +- {std:{fmt}}')
        lines.append(f'| {method} | {len(per_seed)} | ' + ' | '.join(cells) + ' |')
    return lines


def beats_control(rows: Dict[str, Dict[int, dict]], control: str,
                  columns: Sequence[str] = ('linear', 'knn', 'retrieval',
                                            'retrieval_unrepeated'),
                  methods: Optional[Sequence[str]] = None) -> List[str]:
    """One line per method and column: its mean minus the control's,
    whether that exceeds twice the larger of the two seed standard
    deviations, and, over the seeds both rows have (at least two), the
    paired differences: mean +- std and on how many seeds the method is
    higher (a seed's pretrained encoder starts from its random encoder).

    Args:
        rows (dict): ``{method: {seed: probe_eval result}}``.
        control (str): The row compared with.
        columns (Sequence[str]): Columns of :data:`COLUMNS`.
        methods (Sequence[str], optional): The rows to compare (default:
            all but the control).
    """
    lines = []
    for method in (methods or rows):
        if method == control or method not in rows or control not in rows:
            continue
        for column in columns:
            ours, base = ({seed: v for seed, v in ((seed, metric_of(r, column))
                                                   for seed, r in rows[row].items())
                           if v is not None} for row in (method, control))
            if not ours or not base:
                continue
            (m1, s1), (m0, s0) = (mean_std(list(v.values())) for v in (ours, base))
            margin = 2 * max(s1, s0)
            if min(len(ours), len(base)) < 2:
                verdict = 'one seed: no spread to compare with'
            else:
                # ahead, behind, or within the seeds' spread of the control
                verdict = ('beyond' if m1 - m0 > margin else 'BELOW, beyond'
                           if m0 - m1 > margin else 'NOT beyond') + \
                    f' 2 std = {margin:.1f}'
            line = f'{method} vs {control}, {column}: {m1 - m0:+.1f} points ({verdict})'
            diffs = [ours[seed] - base[seed] for seed in ours if seed in base]
            if len(diffs) > 1:
                mean, std = mean_std(diffs)
                line += (f'; paired over {len(diffs)} seeds {mean:+.1f} +- {std:.1f}, '
                         f'higher in {sum(d > 0 for d in diffs)}')
            lines.append(line)
    return lines


CONTROLS = ('random_init', 'raw_joints')


def verdicts(rows: Dict[str, Dict[int, dict]]) -> List[str]:
    """The comparisons of the results tables: every pretrained row against
    the random encoder (linear, kNN, retrieval; its own ``random_init_<row>``
    where there is one) and the raw joints (linear, kNN), and MS-AimCLR
    against AimCLR (each where both rows exist)."""
    pretrained = [m for m in rows if m not in CONTROLS and not m.startswith('random_init_')]
    own = [line for m in pretrained for line in beats_control(rows, f'random_init_{m}',
                                                              methods=[m])]
    return [*own, *beats_control(rows, 'random_init', methods=pretrained),
            *beats_control(rows, 'raw_joints', ('linear', 'knn'), methods=pretrained),
            *beats_control(rows, 'aimclr', ('linear', 'knn'), methods=['ms_aimclr'])]
