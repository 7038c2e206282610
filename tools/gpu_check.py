"""One command that checks and measures msclr_plugin on a GPU machine.

    python tools/gpu_check.py --out DIR                 # on a CUDA machine
    python tools/gpu_check.py --device cpu --quick --out DIR   # CI-sized

writes ``DIR/gpu_check.json`` (everything) and ``DIR/gpu_check.md`` (the
tables, also printed last), plus the CUDA tests' ``DIR/cuda_tests.xml``.
How to carry the project's dependencies to a machine without network and
run it there in one call: docs/install.md ("A GPU machine without network").

Phases, each in child processes (a crash or a hang stays in its phase), all
within ``--budget-s`` seconds (default 480):

1. ``env``: Python, torch, CUDA, cuDNN, GPU, package versions, CPUs; on
   CUDA also two ceilings (device-to-device copy GB/s, bf16 matmul
   TFLOP/s).
2. ``tests``: ``pytest -m cuda`` (single, grouped and padded steps on the
   GPU, bf16 autocast, no host synchronisation inside a step, CUDA graphs
   against eager, checkpoint round trip, a one-process NCCL group).
3. ``steps``: ``tools/benchmark.py step``: single / grouped / padded
   MS-AimCLR steps at batch 128 on random input, variants fp32, bf16,
   fp32+graph, bf16+graph (CUDA graphs), with clips/s, peak memory, CPU
   utilisation and achieved TFLOP/s.
4. ``epoch``: a synthetic store of NTU-60's size (56,880 clips in
   ``kinectv2_25`` and ``smplx_42``, ``--clip-frames`` 75 frames, 2
   persons; 40,320 cross-subject training clips) read through the real
   training config
   (``configs/msclr/ms_aimclr_ntu60_xsub.py``, and its ``_fast`` variant)
   by mmengine's Runner with ``--workers`` dataloader workers, after one
   read of the store's files (read rate; warm page cache) and the
   dataloader alone (no model: the rate the data pipeline can deliver); a
   slice of the first epoch is timed per iteration (after a warm-up), the
   fast config first, giving the
   share of the time spent waiting for data, and the projected wall time of
   the config's 300 epochs (iterations per epoch x mean iteration time x
   epochs; evaluation and checkpoint writing excluded).
"""
import argparse
import importlib.metadata
import importlib.util
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = dict(
    shipped='configs/msclr/ms_aimclr_ntu60_xsub.py',
    fast='configs/msclr/ms_aimclr_ntu60_xsub_fast.py')
PACKAGES = ('torch', 'numpy', 'mmengine', 'mmcv-lite', 'mmaction2', 'scipy',
            'setuptools', 'pytest', 'mmpose', 'mediapipe')
# NTU RGB+D 60: 56,880 clips, 40,320 of them in the cross-subject training
# split (Shahroudy et al., CVPR 2016)
NTU60_CLIPS, NTU60_XSUB_TRAIN = 56880, 40320


def _benchmark():
    """tools/benchmark.py as a module (its helpers and step children)."""
    spec = importlib.util.spec_from_file_location(
        'msclr_benchmark', os.path.join(ROOT, 'tools', 'benchmark.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------ child: env
def run_env(args):
    """Environment facts (and, on CUDA, copy and matmul ceilings)."""
    import torch
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    env = dict(
        python=platform.python_version(),
        platform=platform.platform(),
        cpus=os.cpu_count(),
        cpus_usable=len(os.sched_getaffinity(0)) if hasattr(
            os, 'sched_getaffinity') else os.cpu_count(),
        torch=torch.__version__,
        torch_cuda=torch.version.cuda,
        cuda_available=torch.cuda.is_available(),
        cudnn=torch.backends.cudnn.version() if torch.cuda.is_available()
        else None,
        packages=versions,
        memory_gib=os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') /
        2**30)
    if args.device == 'cuda' and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        env.update(
            gpu=props.name,
            gpu_capability=f'{props.major}.{props.minor}',
            gpu_memory_gib=props.total_memory / 2**30,
            gpu_multiprocessors=props.multi_processor_count,
            ceilings=_ceilings(torch))
        smi = shutil.which('nvidia-smi')
        if smi:
            out = subprocess.run(
                [smi, '--query-gpu=name,driver_version,clocks.sm,'
                 'clocks.max.sm,power.limit', '--format=csv,noheader'],
                capture_output=True, text=True, check=False)
            env['nvidia_smi'] = out.stdout.strip() or out.stderr.strip()
    print('RESULT ' + json.dumps(env), flush=True)


def _ceilings(torch):
    """What the card does at its best here: a device-to-device copy (bytes
    read + written per second) and a bf16 matrix product, on random data,
    median of 10 after 3 warm-ups, timed with CUDA events."""

    def timed(fn):
        for _ in range(3):
            fn()
        times = []
        for _ in range(10):
            start, end = (torch.cuda.Event(enable_timing=True)
                          for _ in range(2))
            start.record()
            fn()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        return statistics.median(times)

    src = torch.randn(2**30 // 4 * 2, device='cuda')  # 2 GiB of float32
    dst = torch.empty_like(src)
    copy_s = timed(lambda: dst.copy_(src))
    del src, dst
    n = 8192
    a, b = (torch.randn(n, n, device='cuda', dtype=torch.bfloat16)
            for _ in range(2))
    mm_s = timed(lambda: a @ b)
    return dict(copy_gb_s=2 * 2**31 / copy_s / 1e9,
                bf16_matmul_tflop_s=2 * n**3 / mm_s / 1e12)


# ---------------------------------------------------------- child: slice
class _SliceDone(Exception):
    """Raised by the slice hook to leave the training loop."""


def _proc_cpu_s(pid):
    """CPU seconds (user + system) of a process, from /proc (Linux)."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def _workers_cpu_s():
    """CPU seconds of this process's children (the dataloader workers)."""
    pid = os.getpid()
    try:
        with open(f'/proc/{pid}/task/{pid}/children') as f:
            return sum(_proc_cpu_s(int(p)) for p in f.read().split())
    except OSError:
        return float('nan')


def _slice_config(args):
    from mmengine.config import Config
    cfg = Config.fromfile(os.path.join(ROOT, CONFIGS[args.variant]))
    cfg.work_dir = args.work_dir
    cfg.launcher = 'none'
    loader = cfg.train_dataloader
    loader.dataset.ann_file = args.store
    loader.num_workers = args.workers
    loader.persistent_workers = args.workers > 0
    loader.batch_size = args.batch
    cfg.default_hooks.logger.interval = 50
    return cfg


def _exit_now():
    """Exit at once, skipping the teardown of workers and CUDA graphs one
    by one. The dataloader workers are killed first: they hold the output
    pipe the parent reads to its end (on the H200, 12 persistent workers
    kept a finished slice "running" until its time limit)."""
    for worker in multiprocessing.active_children():
        worker.kill()
    os._exit(0)


def run_slice(args):
    """Time ``--iters`` iterations of the config's first epoch (after
    ``--warmup``) through mmengine's Runner; prints a JSON line."""
    import torch
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    import msclr_plugin  # noqa: F401
    bench = _benchmark()
    cfg = _slice_config(args)
    total = args.warmup + args.iters

    class SliceHook(Hook):
        """Per-iteration wall times; ends the loop after ``total``
        iterations. Runs last (after the logger's read of the losses, which
        waits for the GPU), so an iteration is complete when timed."""
        priority = 'LOWEST'

        def __init__(self):
            self.data, self.iters = [], []
            self.meter = bench.CPUMeter()

        def before_train_epoch(self, runner):
            self.last = time.perf_counter()

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            self.data.append(time.perf_counter() - self.last)
            if batch_idx == args.warmup:
                self.meter.__enter__()
                self.workers_cpu = _workers_cpu_s()
                if torch.cuda.is_available():
                    torch.cuda.reset_peak_memory_stats()

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            now = time.perf_counter()
            self.iters.append(now - self.last)
            self.last = now
            if batch_idx + 1 == total:
                self.meter.__exit__()
                self.workers_cpu = _workers_cpu_s() - self.workers_cpu
                self.iters_per_epoch = len(runner.train_dataloader)
                raise _SliceDone

    runner = Runner.from_cfg(cfg)
    hook = SliceHook()
    runner.register_hook(hook)
    start = time.perf_counter()
    try:
        runner.train()
    except _SliceDone:
        pass
    else:
        raise RuntimeError(f'the epoch ended before {total} iterations: '
                           'use a larger store or fewer iterations')
    iters, data = hook.iters[args.warmup:], hook.data[args.warmup:]
    mean = statistics.mean(iters)
    model = runner.model
    graphs = getattr(model, '_step_graphs', None)
    result = dict(
        variant=args.variant,
        config=CONFIGS[args.variant],
        device=str(next(model.parameters()).device),
        workers=args.workers,
        batch=args.batch,
        warmup_iters=args.warmup,
        measured_iters=len(iters),
        iter_s_mean=mean,
        iter_s_median=statistics.median(iters),
        data_wait_share=sum(data) / sum(iters),
        data_wait_s_mean=statistics.mean(data),
        items_per_s=args.batch / mean,
        iters_per_epoch=hook.iters_per_epoch,
        epoch_s=mean * hook.iters_per_epoch,
        max_epochs=cfg.train_cfg.max_epochs,
        projected_s=mean * hook.iters_per_epoch * cfg.train_cfg.max_epochs,
        graphs_captured=len(graphs) if graphs is not None else None,
        workers_cpu_util=hook.workers_cpu / hook.meter.wall,
        first_iters_s=hook.iters[:args.warmup],
        startup_s=time.perf_counter() - start - sum(hook.iters),
        **{f'main_{k}': v for k, v in hook.meter.read().items()})
    if torch.cuda.is_available():
        result['peak_cuda_mb'] = torch.cuda.max_memory_allocated() / 2**20
    print('RESULT ' + json.dumps(result), flush=True)
    _exit_now()


def run_loader(args):
    """The training dataloader of the config alone: items/s delivered to
    the main process by ``--workers`` workers; prints a JSON line."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    import msclr_plugin  # noqa: F401
    bench = _benchmark()
    cfg = _slice_config(args)
    DefaultScope.get_instance('gpu_check', scope_name='mmaction')
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    batches = iter(loader)
    for _ in range(args.warmup):
        next(batches)
    meter = bench.CPUMeter()
    workers_cpu = _workers_cpu_s()
    with meter:
        for _ in range(args.iters):
            next(batches)
    result = dict(
        variant=args.variant, workers=args.workers, batch=args.batch,
        batches=args.iters,
        items_per_s=args.batch * args.iters / meter.wall,
        workers_cpu_util=(_workers_cpu_s() - workers_cpu) / meter.wall,
        **{f'main_{k}': v for k, v in meter.read().items()})
    print('RESULT ' + json.dumps(result), flush=True)
    _exit_now()


# ----------------------------------------------------------- the phases
class Budget:
    """Seconds left of ``--budget-s``; phases that do not fit are skipped
    and say so."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return self.end - time.monotonic()


def child(what, extra, budget, timeout=None, env=None):
    """Run this script's child ``what``; the dicts of its RESULT lines."""
    bench = _benchmark()
    limit = budget.left() - 5
    if timeout:
        limit = min(limit, timeout)
    if limit < 10:
        raise RuntimeError(f'skipped: {limit + 5:.0f} s of the budget left')
    cmd = [sys.executable, os.path.abspath(__file__), what] + extra
    return bench.run_children(cmd, env or os.environ.copy(), what, limit)


def phase_tests(args, budget):
    """``pytest -m cuda``; per-test outcome and the skip/failure reason."""
    xml = os.path.join(args.out, 'cuda_tests.xml')
    paths = ['tests/test_cuda.py'] if args.quick else ['tests']
    # a test module that fails to import elsewhere must not stop these
    cmd = [sys.executable, '-m', 'pytest', '-m', 'cuda', '-q', '-rA',
           '-p', 'no:cacheprovider', '--continue-on-collection-errors',
           f'--junitxml={xml}'] + paths
    limit = min(budget.left() - 5, 240)
    if limit < 20:
        return dict(error='skipped: time budget')
    start = time.monotonic()
    try:
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                             check=False, timeout=limit)
    except subprocess.TimeoutExpired:
        return dict(error=f'pytest ran past {limit:.0f} s')
    tests = []
    if os.path.isfile(xml):
        for case in ET.parse(xml).getroot().iter('testcase'):
            outcome, detail = 'passed', ''
            for tag in ('failure', 'error', 'skipped'):
                node = case.find(tag)
                if node is not None:
                    outcome = 'failed' if tag == 'failure' else tag
                    detail = (node.get('message') or node.text or '')[:500]
            tests.append(dict(name=f'{case.get("classname")}::'
                              f'{case.get("name")}', outcome=outcome,
                              detail=detail,
                              seconds=float(case.get('time') or 0)))
    counts = {o: sum(t['outcome'] == o for t in tests)
              for o in ('passed', 'failed', 'error', 'skipped')}
    return dict(returncode=out.returncode, seconds=time.monotonic() - start,
                counts=counts, tests=tests,
                tail=(out.stdout + out.stderr)[-3000:])


def phase_steps(args, budget):
    bench = _benchmark()
    step_args = argparse.Namespace(
        frames=args.frames, persons=2, iters=args.step_iters,
        warmup=args.step_warmup, threads=args.threads, device=args.device,
        queue_len=args.queue_len, conventions=['kinectv2_25', 'smplx_42'],
        variants=args.variants, malloc_tuned=False, count_flops=True)
    # a process per mode on a GPU (a CUDA error stays in its mode); one for
    # all of them when CI-sized
    groups = ([['single', 'grouped', 'padded']] if args.quick else
              [['single'], ['grouped'], ['padded']])
    results = []
    for modes in groups:
        limit = min(budget.left() - 5, 240)
        try:
            if limit < 10:
                raise RuntimeError('skipped: time budget')
            found = bench.run_children(
                bench.step_command(step_args, modes, args.batch),
                dict(os.environ, OMP_NUM_THREADS=str(args.threads)),
                f'steps {modes}', limit)
        except RuntimeError as exc:
            found = [dict(mode=mode, batch=args.batch, variant=v,
                          error=str(exc)[-2000:])
                     for mode in modes for v in args.variants]
        for r in found:
            print(bench.format_step(r), flush=True)
        results += found
    return dict(results=results, summary=bench.summarise(results))


def phase_epoch(args, budget):
    bench = _benchmark()
    out = dict(store=None, slices=[], loader=[])
    root = args.store or tempfile.mkdtemp(prefix='msclr_gpu_check_')
    path = os.path.join(root, f'ntu60_synthetic_{args.clips}c_'
                        f'{args.clip_frames}f')
    try:
        if not os.path.isfile(os.path.join(path, 'index.json')):
            start = time.monotonic()
            bench.make_scale_store(path, args.clips,
                                   ['kinectv2_25', 'smplx_42'],
                                   args.clip_frames, 2,
                                   xsub_train=args.xsub_train)
            out['store_write_s'] = time.monotonic() - start
        out['store'] = dict(
            path=path, clips=args.clips, xsub_train=args.xsub_train,
            frames=args.clip_frames,
            bytes=sum(e.stat().st_size for e in os.scandir(path)))
        out['store_read'] = _read_store(path)
        common = ['--store', path, '--workers', str(args.workers),
                  '--batch', str(args.batch), '--device', args.device]
        # the loader alone first: short, and it tells whether data or model
        # limits the slices that follow
        try:
            r, = child('_loader', common + [
                '--variant', 'fast', '--warmup', str(args.loader_iters[0]),
                '--iters', str(args.loader_iters[1])], budget, timeout=120)
        except RuntimeError as exc:
            r = dict(variant='fast', error=str(exc)[-3000:])
        out['loader'].append(r)
        print(format_loader(r), flush=True)
        for variant, (warmup, iters) in args.slice_iters.items():
            work_dir = tempfile.mkdtemp(prefix='msclr_slice_')
            try:
                r, = child('_slice', common + [
                    '--variant', variant, '--warmup', str(warmup), '--iters',
                    str(iters), '--work-dir', work_dir], budget, timeout=240)
            except RuntimeError as exc:
                r = dict(variant=variant, error=str(exc)[-3000:])
            finally:
                shutil.rmtree(work_dir, ignore_errors=True)
            out['slices'].append(r)
            print(format_slice(r), flush=True)
    finally:
        if not args.store:
            shutil.rmtree(root, ignore_errors=True)
    return out


def _read_store(path):
    """Read the store's files once: their read rate (GB/s), and a warm page
    cache for the timings after it, as in every epoch after a real run's
    first (the H200's first slice waited 59% of its time for data)."""
    start, size = time.monotonic(), 0
    for entry in os.scandir(path):
        with open(entry.path, 'rb') as f:
            while chunk := f.read(1 << 24):
                size += len(chunk)
    seconds = time.monotonic() - start
    return dict(gb=size / 1e9, seconds=seconds, gb_per_s=size / 1e9 / seconds)


# ---------------------------------------------------------------- report
def _hours(seconds):
    return f'{seconds / 3600:.2f} h'


def format_slice(r):
    if 'error' in r:
        return f'  epoch slice {r["variant"]}: ERROR {r["error"][-500:]}'
    return (f'  epoch slice {r["variant"]:7s}: {r["iter_s_mean"] * 1e3:.1f} '
            f'ms/iter ({r["items_per_s"]:.0f} items/s), waiting for data '
            f'{r["data_wait_share"]:.0%}, {r["iters_per_epoch"]} iters/epoch'
            f' -> {r["max_epochs"]} epochs {_hours(r["projected_s"])}')


def format_loader(r):
    if 'error' in r:
        return f'  dataloader alone: ERROR {r["error"][-500:]}'
    return (f'  dataloader alone ({r["workers"]} workers): '
            f'{r["items_per_s"]:.0f} items/s, workers {r["workers_cpu_util"]:.1f}'
            f' CPU s/s, main {r["main_cpu_util"]:.2f} CPU s/s')


def markdown(report):
    env = report['env']
    lines = [
        '# gpu_check', '',
        f'`{report["command"]}`, {report["started"]}, {report["seconds"]:.0f}'
        f' s of a {report["budget_s"]} s budget.', '', '## Environment', '']
    if 'error' in env:
        lines.append(f'ERROR: {env["error"]}')
    else:
        gpu = (f'{env.get("gpu")} (capability {env.get("gpu_capability")}, '
               f'{env.get("gpu_memory_gib", 0):.0f} GiB)'
               if env.get('gpu') else 'none')
        lines += [
            f'- GPU: {gpu}; driver / clocks: {env.get("nvidia_smi", "n/a")}',
            f'- Python {env["python"]}, torch {env["torch"]} (CUDA '
            f'{env["torch_cuda"]}, cuDNN {env["cudnn"]}), {env["cpus"]} CPUs '
            f'({env["cpus_usable"]} usable), {env["memory_gib"]:.0f} GiB',
            '- packages: ' + ', '.join(
                f'{k} {v}' for k, v in env['packages'].items() if v)
        ]
        if env.get('ceilings'):
            c = env['ceilings']
            lines.append(f'- ceilings: copy {c["copy_gb_s"]:.0f} GB/s (read +'
                         f' write), bf16 matmul 8192^3 '
                         f'{c["bf16_matmul_tflop_s"]:.0f} TFLOP/s')
    tests = report['tests']
    lines += ['', '## CUDA tests (`pytest -m cuda`)', '']
    if 'error' in tests:
        lines.append(f'ERROR: {tests["error"]}')
    else:
        lines.append(', '.join(f'{v} {k}' for k, v in tests['counts'].items())
                     + f' in {tests["seconds"]:.0f} s')
        lines += ['', '| test | outcome | detail |', '|---|---|---|']
        for t in tests['tests']:
            detail = t['detail'].replace('\n', ' ').replace('|', '/')[:200]
            lines.append(f'| {t["name"]} | {t["outcome"]} | {detail} |')
    steps = report['steps']
    lines += [
        '', '## Step benchmark (random input, `tools/benchmark.py step`)', '',
        '| mode | variant | clips/s | ms/step (median) | TFLOP/s | peak GPU '
        'MB | CPU s/s | graphs |', '|---|---|---|---|---|---|---|---|'
    ]
    if 'error' in steps:
        lines.append(f'ERROR: {steps["error"]}')
    else:
        flops = {r['mode']: r['gflop_per_step'] for r in steps['results']
                 if r.get('gflop_per_step')}
        for r in steps['results']:
            if 'error' in r:
                error = r['error'][-150:].replace('\n', ' ')
                lines.append(f'| {r["mode"]} | {r["variant"]} | ERROR: '
                             f'{error} | | | | | |')
                continue
            tflops = (flops[r['mode']] * r['clips_per_s'] / r['batch'] / 1e3
                      if r['mode'] in flops else None)
            lines.append(
                f'| {r["mode"]} | {r["variant"]} | {r["clips_per_s"]:.0f} | '
                f'{r["median_step_s"] * 1e3:.1f} | '
                + (f'{tflops:.3g}' if tflops else 'n/a') + ' | '
                + (f'{r["peak_cuda_mb"]:.0f}' if 'peak_cuda_mb' in r
                   else 'n/a') + f' | {r["cpu_util"]:.2f} | {r["graphs_captured"]} |')
        lines += [''] + [f'- {line}' for line in steps['summary']]
    epoch = report['epoch']
    lines += ['', '## Epoch slice (real config, dataloader, Runner)', '']
    if 'error' in epoch:
        lines.append(f'ERROR: {epoch["error"]}')
    else:
        store = epoch['store']
        lines += [
            f'Store: {store["clips"]} clips x 2 conventions, '
            f'{store["frames"]} frames, {store["bytes"] / 2**30:.2f} GiB, '
            f'xsub_train {store["xsub_train"]}'
            + (f', written in {epoch["store_write_s"]:.0f} s'
               if 'store_write_s' in epoch else '')
            + (f', read once before the timings at '
               f'{epoch["store_read"]["gb_per_s"]:.2f} GB/s'
               if 'store_read' in epoch else '') + '.', '',
            '| config | workers | ms/iter (mean) | items/s | waiting for data'
            ' | main CPU s/s | workers CPU s/s | peak GPU MB | iters/epoch | '
            'projected 300 epochs |', '|---|---|---|---|---|---|---|---|---|---|'
        ]
        for r in epoch['slices']:
            if 'error' in r:
                lines.append(f'| {r["variant"]} | ERROR: '
                             f'{r["error"][-200:]} |'.replace('\n', ' '))
                continue
            lines.append(
                f'| {r["config"]} | {r["workers"]} | '
                f'{r["iter_s_mean"] * 1e3:.1f} | {r["items_per_s"]:.0f} | '
                f'{r["data_wait_share"]:.1%} | {r["main_cpu_util"]:.2f} | '
                f'{r["workers_cpu_util"]:.2f} | '
                + (f'{r["peak_cuda_mb"]:.0f}' if 'peak_cuda_mb' in r else
                   'n/a') + f' | {r["iters_per_epoch"]} | '
                f'**{_hours(r["projected_s"])}** |')
        lines += [f'- {r["variant"]}: {r["warning"]}'
                  for r in epoch['slices'] + epoch['loader'] if 'warning' in r]
        for r in epoch['loader']:
            lines += ['', format_loader(r).strip()]
    return '\n'.join(lines) + '\n'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('what', nargs='?', default='check',
                        choices=['check', '_env', '_slice', '_loader'],
                        help=argparse.SUPPRESS)
    parser.add_argument('--out', help='report folder (check)')
    parser.add_argument('--device', default='cuda', choices=['cuda', 'cpu'])
    parser.add_argument('--quick', action='store_true',
                        help='CI-sized: batch 2, a few iterations, a small '
                        'store, only the fast config, only '
                        'tests/test_cuda.py')
    parser.add_argument('--budget-s', type=float, default=480)
    parser.add_argument('--workers', type=int,
                        default=max(2, min(12, (os.cpu_count() or 4) - 4)))
    parser.add_argument('--store',
                        help='keep the synthetic store here for reuse '
                        '(default: a temporary folder, removed)')
    parser.add_argument('--skip', nargs='*', default=[],
                        choices=['tests', 'steps', 'epoch'])
    parser.add_argument('--variant', help=argparse.SUPPRESS)
    parser.add_argument('--warmup', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--iters', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--batch', type=int, default=128)
    parser.add_argument('--clip-frames', type=int, default=75,
                        help='frames per stored clip: the NTU configs read '
                        'raw stores (variable length, resampled to 50 '
                        'frames online); 75 stands in for their length')
    parser.add_argument('--work-dir', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.what == '_env':
        return run_env(args)
    if args.what == '_slice':
        return run_slice(args)
    if args.what == '_loader':
        return run_loader(args)
    if not args.out:
        parser.error('--out is required')
    os.makedirs(args.out, exist_ok=True)
    args.variants = ['fp32', 'bf16', 'fp32+graph', 'bf16+graph']
    args.frames, args.queue_len, args.threads = 50, 32768, 2
    args.step_iters, args.step_warmup = 20, 5
    args.clips, args.xsub_train = NTU60_CLIPS, NTU60_XSUB_TRAIN
    args.slice_iters = dict(fast=(40, 300), shipped=(20, 100))
    args.loader_iters = (20, 200)
    if args.quick:
        args.batch, args.frames, args.queue_len, args.threads = 2, 8, 64, 1
        args.step_iters, args.step_warmup = 1, 1
        args.variants = ['fp32', 'bf16+graph']
        args.clips, args.xsub_train, args.clip_frames = 240, 170, 20
        args.slice_iters = dict(fast=(1, 1))
        args.loader_iters = (1, 4)
        args.workers = min(args.workers, 2)
    budget = Budget(args.budget_s)
    started = time.strftime('%Y-%m-%d %H:%M:%S %Z')
    report = dict(
        command=' '.join([os.path.relpath(__file__, ROOT)] + list(
            sys.argv[1:] if argv is None else argv)),
        started=started, budget_s=args.budget_s,
        args={k: v for k, v in vars(args).items() if k != 'what'})
    try:
        report['env'], = child('_env', ['--device', args.device], budget,
                               timeout=120)
    except RuntimeError as exc:
        report['env'] = dict(error=str(exc)[-3000:])
    print(json.dumps(report['env']), flush=True)
    phases = dict(tests=phase_tests, steps=phase_steps, epoch=phase_epoch)
    for name, phase in phases.items():
        start = time.monotonic()
        if name in args.skip:
            report[name] = dict(error='skipped (--skip)')
            continue
        print(f'[gpu_check] {name} ({budget.left():.0f} s left)', flush=True)
        try:
            report[name] = phase(args, budget)
        except Exception as exc:  # noqa: BLE001  (reported; next phase)
            report[name] = dict(error=f'{type(exc).__name__}: {exc}'[-3000:])
        report[name]['phase_s'] = time.monotonic() - start
        # written after every phase: a run cut short keeps what it measured
        report['seconds'] = args.budget_s - budget.left()
        with open(os.path.join(args.out, 'gpu_check.json'), 'w') as f:
            json.dump(report, f, indent=1)
    text = markdown(report)
    with open(os.path.join(args.out, 'gpu_check.md'), 'w') as f:
        f.write(text)
    print(text, flush=True)
    failed = (report['tests'].get('counts', {}).get('failed', 0) +
              report['tests'].get('counts', {}).get('error', 0))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
