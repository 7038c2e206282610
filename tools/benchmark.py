"""Benchmark MS-AimCLR pretraining steps, the AimCLR data pipeline and the
dataloader memory at NTU-120 scale.

Step: one full pretraining step (normal query, extreme query (+ EADM), key;
losses; backward; SGD; EMA; enqueue) in clips/s and peak memory, for

- ``single``:  AimCLR on one convention (the first of --conventions);
- ``grouped``: MS-AimCLR, every batch one (query, key) convention pair at
  native joint counts (ConventionGroupedBatchSampler), pairs cycled evenly
  (the measured steps start at the first pair: use --iters a multiple of
  the number of pairs, 4 for two conventions);
- ``padded``:  MS-AimCLR on mixed batches zero-padded to the largest joint
  count (the reference MS-CLR approach), padded joints masked.

Backbones (``--backbones``): ``stgcn`` (AimCLR's ST-GCN, the default) and
the standard-width multi-skeleton ``stgcnpp``, ``aagcn`` and ``ctrgcn`` of
configs/_base_/models/gcn_encoders.py, each in the same MS-AimCLR step;
``--count-flops`` adds the FLOPs of a step.

Variants (``--variants``): ``fp32`` or ``bf16`` (autocast,
``AutocastOptimWrapper``), each optionally ``+graph`` (``MSAimCLR(
cuda_graph=True)``: forward and backward replayed from CUDA graphs; on CPU
and for padded batches the same code runs eagerly). Every step is the
model's own ``train_step`` (data preprocessor, loss, backward, optimizer),
then a read of the loss, as mmengine's logger does every iteration.

Each (mode, batch) runs in its own process so that peak RSS is its own
(the variants of one mode share it: peak RSS is per process);
every process gets the same allocator settings (--malloc-tuned calls
``msclr_plugin.utils.tune_allocator`` in all of them: glibc keeps freed
activation buffers instead of unmapping them, see docs/benchmarks.md).
Each result records the minor page faults per step, the load average
around the run, the process's CPU utilisation (CPU seconds of all its
threads per wall second) and the share of the machine's CPU time that was
busy (all processes, from /proc/stat): with other processes busy on the
same cores, OpenMP threads wait for each other and a step can take several
times longer; these two numbers make that contention visible.

Layers: forward + backward of the CPU fast paths next to the plain torch
formulations they replace (dropout; the graph contraction) and of the AimCLR
encoder with and without ``gcn_recompute`` (42 joints), interleaved in one
process, best of --iters repetitions each.

Data: samples/s of the 3-view AimCLR transforms (normal, normal, extreme)
on one core, from the pipelines in configs/_base_/datasets/aimclr_views.py.

Scale: memory of a pretraining dataloader against the size of the store.
For each --clips, a synthetic store of that many clips in the two
conventions (--clip-frames frames each) is written (kept and reused under
--store), then a fresh process opens it as a pretraining
MultiSkeletonDataset (AimCLR 3-view pipeline, ConventionGroupedBatchSampler)
and reads --batches batches with --workers forked workers. Reported: open
time, the store's bytes on disk, and the RSS / PSS / USS (from
/proc/<pid>/smaps_rollup) of the main process and of every worker after
those batches: what grows with the store shows up as a difference between
the sizes.

Examples:
    python tools/benchmark.py step --batch 16 64 --out bench.json
    python tools/benchmark.py step --backbones stgcn stgcnpp aagcn ctrgcn \
        --modes grouped padded --batch 8 --count-flops
    python tools/benchmark.py data
    python tools/benchmark.py layers --batch 16
    python tools/benchmark.py scale --clips 10000 114480 --store /tmp/stores
    python tools/benchmark.py --quick      # all of them, CI-sized
"""
import argparse
import contextlib
import itertools
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# --gcn-recompute: the MSSTGCN argument (None: its default)
RECOMPUTE = dict(default=None, off=False, on=True)
AIMCLR_ENCODER = dict(
    type='MSSTGCN',
    channels=(16, 16, 16, 16, 32, 32, 32, 64, 64, 256),
    down_stages=(5, 8),
    tcn_dropout=0.5)


# --backbones: AimCLR's ST-GCN, or a standard-width encoder of
# configs/_base_/models/gcn_encoders.py (ST-GCN++, AAGCN, CTR-GCN)
BACKBONES = ('stgcn', 'stgcnpp', 'aagcn', 'ctrgcn')


def build_model(layouts, queue_len, cuda_graph=False, non_blocking=False,
                backbone='stgcn', gcn_recompute=None):
    import msclr_plugin  # noqa: F401
    from mmaction.registry import MODELS
    from mmengine.config import Config
    if backbone == 'stgcn':
        encoder, mode = AIMCLR_ENCODER, 'stgcn_spatial'
    else:
        encoder = Config.fromfile(os.path.join(
            ROOT, 'configs/_base_/models/gcn_encoders.py'))[
                f'{backbone}_encoder'].to_dict()
        mode = encoder.pop('graph_cfg')['mode']
    backbone = dict(
        encoder,
        graph_cfg=dict(type='MultiSkeletonGraph', layouts=list(layouts),
                       mode=mode))
    if gcn_recompute is not None:  # else the backbone's default
        backbone['gcn_recompute'] = gcn_recompute
    return MODELS.build(
        dict(
            type='MSAimCLR',
            backbone=backbone,
            neck=dict(type='MSProjectionNeck'),
            queue_len=queue_len,
            cuda_graph=cuda_graph,
            data_preprocessor=dict(
                type='MultiSkeletonDataPreprocessor',
                non_blocking=non_blocking)))


class CPUMeter:
    """CPU use over the regions run inside ``with meter:``: this process's
    CPU seconds (all threads) per wall second, and the busy share of all
    the machine's CPUs (every process, from /proc/stat)."""

    def __init__(self):
        self.wall = self.cpu = 0.
        self.ticks = [0, 0]  # total, idle (+ iowait)

    @staticmethod
    def _now():
        usage = resource.getrusage(resource.RUSAGE_SELF)
        try:
            with open('/proc/stat') as f:
                ticks = [int(v) for v in f.readline().split()[1:]]
            machine = (sum(ticks), ticks[3] + ticks[4])
        except OSError:  # not Linux
            machine = (0, 0)
        return time.perf_counter(), usage.ru_utime + usage.ru_stime, machine

    def __enter__(self):
        self._start = self._now()
        return self

    def __exit__(self, *exc):
        wall, cpu, machine = self._now()
        self.wall += wall - self._start[0]
        self.cpu += cpu - self._start[1]
        self.ticks[0] += machine[0] - self._start[2][0]
        self.ticks[1] += machine[1] - self._start[2][1]

    def read(self):
        """``dict(cpu_util, machine_busy)``; machine_busy is None where
        /proc/stat is missing or the region was shorter than a tick."""
        return dict(
            cpu_util=self.cpu / max(self.wall, 1e-9),
            machine_busy=(1 - self.ticks[1] / self.ticks[0]
                          if self.ticks[0] > 0 else None))


def make_batch(mode, conventions, batch, frames, persons, step, rng,
               pin=False):
    """Host inputs and data samples of one batch for a benchmark mode
    (``step`` picks the convention pair of a grouped batch; ``pin``: in
    pinned memory, as a DataLoader with ``pin_memory=True`` gives them)."""
    import torch
    from mmaction.structures import ActionDataSample

    from msclr_plugin.skeletons import get_layout
    joints = {c: get_layout(c).num_joints for c in conventions}
    if mode == 'single':
        pairs = [(conventions[0], conventions[0])] * batch
    elif mode == 'grouped':
        grid = [(q, k) for q in conventions for k in conventions]
        pairs = [grid[step % len(grid)]] * batch
    else:
        pairs = [(conventions[rng.integers(len(conventions))],
                  conventions[rng.integers(len(conventions))])
                 for _ in range(batch)]
    pad = max(joints.values()) if mode == 'padded' else None

    def view(convs):
        width = pad or joints[convs[0]]
        x = torch.zeros(batch, persons, frames, width, 3)
        for i, conv in enumerate(convs):
            x[i, :, :, :joints[conv]] = torch.randn(persons, frames,
                                                    joints[conv], 3)
        return x.pin_memory() if pin else x

    queries = [q for q, _ in pairs]
    keys = [k for _, k in pairs]
    inputs = dict(
        query=view(queries), query_extreme=view(queries), key=view(keys))
    samples = [
        ActionDataSample(
            metainfo=dict(skeletons=dict(query=q, query_extreme=q, key=k)))
        for q, k in pairs
    ]
    return inputs, samples


def parse_variant(variant):
    """``'bf16+graph'`` -> ``('bf16', True)``."""
    precision, _, graph = variant.partition('+')
    if precision not in ('fp32', 'bf16') or graph not in ('', 'graph'):
        raise ValueError(f'variant {variant!r}: expected fp32 or bf16, '
                         'optionally +graph')
    return precision, graph == 'graph'


def measure_variant(args, mode, variant, device):
    """One variant of one (mode, batch), in this process."""
    import torch
    from mmengine.optim import OptimWrapper
    from torch.utils.flop_counter import FlopCounterMode

    from msclr_plugin.engine import AutocastOptimWrapper
    precision, graph = parse_variant(variant)
    torch.manual_seed(0)
    cuda = device.type == 'cuda'
    conventions = args.conventions[:1] if mode == 'single' \
        else args.conventions
    model = build_model(conventions, args.queue_len, cuda_graph=graph,
                        non_blocking=cuda,
                        backbone=args.backbones[0],
                        gcn_recompute=RECOMPUTE[args.gcn_recompute[0]]
                        ).to(device).train()
    optim = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad],
        lr=0.1, momentum=0.9, weight_decay=1e-4)
    wrapper = (AutocastOptimWrapper if precision == 'bf16' else
               OptimWrapper)(optimizer=optim)
    pairs = 1 if mode == 'single' else len(conventions)**2
    # graphs: every signature runs its eager warm-up steps and is captured
    # before the measured steps (grouped cycles its pairs)
    warmup = max(args.warmup, (model._step_graphs.warmup + 1) * pairs
                 if graph and cuda else 0)
    # FLOPs of eager steps, counted during the warm-up (one step per pair)
    flop_steps = (min(warmup, pairs)
                  if args.count_flops and not graph else 0)
    flops, total_flops = FlopCounterMode(display=False), 0
    rng = np.random.default_rng(0)
    times, faults, meter = [], 0, CPUMeter()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    for step in range(warmup + args.iters):
        inputs, samples = make_batch(mode, conventions, args.batch,
                                     args.frames, args.persons,
                                     step - warmup, rng, cuda)
        data = dict(inputs=inputs, data_samples=samples)
        minflt = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        region = (meter if step >= warmup else
                  flops if step < flop_steps else contextlib.nullcontext())
        with region:
            start = time.perf_counter()
            log_vars = model.train_step(data, wrapper)
            # mmengine's logger reads the loss every iteration: a sync
            loss = log_vars['loss'].item()
            elapsed = time.perf_counter() - start
        if step < flop_steps:  # the counter restarts at every entry
            total_flops += flops.get_total_flops()
        if step >= warmup:
            times.append(elapsed)
            faults += resource.getrusage(
                resource.RUSAGE_SELF).ru_minflt - minflt
    result = dict(
        backbone=args.backbones[0],
        backbone_params_m=sum(
            p.numel() for p in model.backbone.parameters()) / 1e6,
        mode=mode,
        batch=args.batch,
        variant=variant,
        gcn_recompute=args.gcn_recompute[0],
        precision=precision,
        cuda_graph=graph,
        graphs_captured=len(model._step_graphs) if graph else 0,
        device=str(device),
        conventions=conventions,
        median_step_s=statistics.median(times),
        # throughput over all measured steps: grouped steps differ in cost
        clips_per_s=args.batch * len(times) / sum(times),
        step_s=times,
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        minor_faults_per_step=faults / len(times),
        warmup_steps=warmup,
        gflop_per_step=(total_flops / flop_steps / 1e9
                        if flop_steps else None),
        loss=loss,
        pid=os.getpid(),
        **meter.read())
    if cuda:
        result['peak_cuda_mb'] = torch.cuda.max_memory_allocated() / 2**20
    return result


def run_step(args):
    """Measure every variant of the --modes at one batch size in this
    process; prints one JSON line per (mode, variant)."""
    from msclr_plugin.utils import tune_allocator
    tuned = tune_allocator(args.malloc_tuned)
    import torch
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == 'cuda':
        # fixed shapes per convention pair: let cuDNN pick its kernels
        torch.backends.cudnn.benchmark = True
    for mode in args.modes:
        for variant in args.variants:
            load_start = os.getloadavg()[0]
            try:
                result = measure_variant(args, mode, variant, device)
            except Exception as exc:  # noqa: BLE001  (reported, go on)
                result = dict(mode=mode, batch=args.batch, variant=variant,
                              error=f'{type(exc).__name__}: {exc}'[:2000])
            result.update(
                malloc_tuned=tuned,
                threads=args.threads,
                load_avg_1min=[load_start, os.getloadavg()[0]])
            print('RESULT ' + json.dumps(result), flush=True)


def run_children(cmd, env, what, timeout=None):
    """Run a benchmark process; returns the dicts of its ``RESULT`` lines.

    Raises:
        RuntimeError: The process failed, printed no result or ran past
            ``timeout`` seconds (its output is in the message).
    """
    try:
        out = subprocess.run(cmd, env=env, capture_output=True, text=True,
                             check=False, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        # the partial output comes as bytes whatever ``text`` says
        stdout, stderr = (
            (b.decode(errors='replace') if isinstance(b, bytes) else b or '')
            for b in (exc.stdout, exc.stderr))
        results = _results(stdout)
        if results:  # measured, then hung on its way out: keep, and say so
            return [dict(r, warning=f'did not exit within {timeout} s after '
                         'its result') for r in results]
        raise RuntimeError(f'benchmark {what} ran past {timeout} s:\n'
                           f'{stdout}{stderr}'[-6000:])
    results = _results(out.stdout)
    if out.returncode or not results:
        raise RuntimeError(f'benchmark {what} failed:\n'
                           f'{out.stdout[-2000:]}{out.stderr[-4000:]}')
    return results


def _results(stdout):
    """The dicts of the ``RESULT`` lines of a child's output."""
    return [json.loads(line[7:]) for line in stdout.splitlines()
            if line.startswith('RESULT ')]


def step_command(args, modes, batch, backbone='stgcn',
                 gcn_recompute='default', variants=None):
    """The command line of a ``_step`` child process (``variants``: default
    ``args.variants``)."""
    return [
        sys.executable, os.path.abspath(__file__), '_step', '--backbones',
        backbone, '--modes', *modes,
        '--batch',
        str(batch), '--frames', str(args.frames), '--persons',
        str(args.persons), '--iters', str(args.iters), '--warmup',
        str(args.warmup), '--threads', str(args.threads), '--device',
        args.device, '--queue-len', str(args.queue_len), '--conventions',
        *args.conventions, '--variants', *(variants or args.variants),
        '--gcn-recompute',
        gcn_recompute
    ] + (['--malloc-tuned'] if args.malloc_tuned else []) + (
        ['--count-flops'] if args.count_flops else [])


def cpu_rate(r):
    """Clips per CPU second of the process (all its threads), or None."""
    return (r['clips_per_s'] / r['cpu_util'] if r.get('cpu_util') else
            None)


def format_step(r):
    """One line of a step result."""
    if 'error' in r:
        return (f'  step {r.get("backbone", "stgcn"):7s} {r["mode"]:8s} batch '
                f'{r["batch"]:4d} {r["variant"]:10s}: ERROR '
                f'{r["error"][:300]}')
    cuda = (f', peak CUDA {r["peak_cuda_mb"]:.0f} MB'
            if 'peak_cuda_mb' in r else '')
    busy = r['machine_busy']
    flops = (f', {r["gflop_per_step"]:.1f} GFLOP/step'
             if r.get('gflop_per_step') else '')
    return (f'  step {r["backbone"]:7s} {r["mode"]:8s} batch {r["batch"]:4d} '
            f'{setting(r):18s}: {r["clips_per_s"]:8.1f} clips/s '
            f'({r["median_step_s"] * 1e3:.1f} ms/step, peak RSS '
            f'{r["peak_rss_mb"]:.0f} MB{cuda}{flops}, '
            f'{r["minor_faults_per_step"]:.0f} page faults/step, CPU '
            f'{r["cpu_util"]:.2f} s/s ({cpu_rate(r) or 0:.2f} clips per CPU s), '
            'machine '
            + ('n/a' if busy is None else f'{busy:.0%}') + ' busy, load '
            f'{r["load_avg_1min"][0]:.1f}-{r["load_avg_1min"][1]:.1f})')


def setting(r):
    """A step result's variant, with its ``gcn_recompute`` when chosen."""
    recompute = r.get('gcn_recompute', 'default')
    return r['variant'] + ('' if recompute == 'default' else
                           f' recompute={recompute}')


def bench_steps(args, timeout=None):
    """Every (mode, --gcn-recompute, variant) in its own process (peak RSS
    is a process's maximum), interleaved within each batch size, the whole
    sequence --repeat times."""
    results = []
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    for repeat, backbone, batch, mode, recompute, variant in itertools.product(
            range(args.repeat), args.backbones, args.batch, args.modes,
            args.gcn_recompute, args.variants):
        cmd = step_command(args, [mode], batch, backbone, recompute,
                           [variant])
        for r in run_children(cmd, env, f'{backbone} {mode} b{batch}',
                              timeout):
            r['repeat'] = repeat
            results.append(r)
            print(format_step(r), flush=True)
    return results


def bench_data(args):
    import msclr_plugin  # noqa: F401
    from mmengine.config import Config
    from mmaction.registry import TRANSFORMS

    cfg = Config.fromfile(
        os.path.join(ROOT, 'configs', '_base_', 'datasets',
                     'aimclr_views.py'))
    rng = np.random.default_rng(0)
    conv = args.conventions[0]
    from msclr_plugin.skeletons import get_layout
    joints = get_layout(conv).num_joints
    # mmaction's registry: mmengine's Compose would look in its own
    pipe = TRANSFORMS.build(
        dict(
            type='MSMultiView',
            pipelines=dict(
                query=cfg.normal_view,
                query_extreme=cfg.extreme_view,
                key=cfg.normal_view)))
    clip = rng.normal(size=(args.persons, args.frames, joints, 3)).astype(
        np.float32)

    def sample(index):
        # seed, epoch and sample_idx as a dataset item: per-item generators
        return pipe(
            dict(
                clip_name='bench',
                label=0,
                skeletons={conv: clip.copy()},
                views=dict(query=conv, query_extreme=conv, key=conv),
                seed=0, epoch=0, sample_idx=index))

    for index in range(20):
        sample(index)
    count = args.data_samples
    start = time.perf_counter()
    for index in range(count):
        sample(index)
    rate = count / (time.perf_counter() - start)
    print(f'  data 3-view AimCLR transforms, {conv} {args.persons}x'
          f'{args.frames}x{joints}: {rate:.0f} samples/s (one core)')
    return [dict(kind='data', convention=conv, samples_per_s=rate)]


def bench_layers(args):
    """Fast layer paths vs the plain torch formulations, side by side."""
    import torch
    import torch.nn as nn

    from mmaction.registry import MODELS
    from msclr_plugin.models.layers import MSDropout
    from msclr_plugin.utils import tune_allocator
    tune_allocator(args.malloc_tuned)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    n, v = args.batch[0] * args.persons, 25
    drop_x = torch.randn(n, 32, args.frames, v)
    graph_x = torch.randn(n, 3, 64, args.frames // 2, v)
    adj = torch.rand(3, v, v)

    def einsum(x):
        return torch.einsum('nkctv,kvw->nctw', x, adj)

    def matmul(x):  # GraphConv's formulation
        return torch.matmul(x.flatten(2, 3), adj.unsqueeze(0)).sum(1)

    # the AimCLR encoder (training mode) on a 42-joint batch, keeping the
    # graph units' convolution outputs (plain) or recomputing them (fast
    # stands for gcn_recompute here: it saves memory, not time)
    encoders = []
    for recompute in (False, True):
        torch.manual_seed(0)
        encoders.append(
            MODELS.build(
                dict(AIMCLR_ENCODER, gcn_recompute=recompute,
                     graph_cfg=dict(type='MultiSkeletonGraph',
                                    layouts=['smplx_42']))).train())
    encoder_x = torch.randn(args.batch[0], args.persons, args.frames, 42, 3)
    cases = dict(
        dropout=(drop_x, nn.Dropout(0.5, inplace=True), MSDropout(
            0.5, inplace=True)),
        graph=(graph_x, einsum, matmul),
        recompute=(encoder_x, *encoders))

    def timed(x, fn):
        leaf = x.clone().requires_grad_()
        start = time.perf_counter()
        out = fn(leaf * 1.0)  # a non-leaf input, as in the network
        out.backward(torch.ones_like(out))
        return time.perf_counter() - start

    best = {(c, i): float('inf') for c in cases for i in (0, 1)}
    for _ in range(args.iters + args.warmup):
        for case, (x, plain, fast) in cases.items():
            for i, fn in enumerate((plain, fast)):
                best[case, i] = min(best[case, i], timed(x, fn))
    results = []
    for case, (x, _, _) in cases.items():
        plain, fast = best[case, 0] * 1e3, best[case, 1] * 1e3
        results.append(
            dict(kind='layer', case=case, shape=list(x.shape),
                 plain_ms=plain, fast_ms=fast, speedup=plain / fast))
        print(f'  layer {case:8s} {tuple(x.shape)}: plain {plain:7.1f} ms, '
              f'fast {fast:7.1f} ms (forward + backward): '
              f'{plain / fast:.2f}x')
    return results


def _memory_mb(pid):
    """RSS, PSS and USS (private pages) of a process in MiB, from
    /proc/<pid>/smaps_rollup (Linux >= 4.14)."""
    kb = {}
    with open(f'/proc/{pid}/smaps_rollup') as f:
        for line in f:
            key, _, value = line.partition(':')
            if value.rstrip().endswith('kB'):
                kb[key] = int(value.split()[0])
    return dict(
        rss_mb=kb['Rss'] / 1024,
        pss_mb=kb['Pss'] / 1024,
        uss_mb=(kb['Private_Clean'] + kb['Private_Dirty']) / 1024)


def _child_pids():
    """Processes forked by this one (here: the dataloader workers)."""
    pid = os.getpid()
    with open(f'/proc/{pid}/task/{pid}/children') as f:
        return [int(p) for p in f.read().split()]


def make_scale_store(root, clips, conventions, frames, persons,
                     xsub_train=None):
    """Write a synthetic store of NTU's shape: ``clips`` clips of ``frames``
    frames in every convention, 20-character names, 120 labels and
    cross-subject / cross-setup splits (``xsub_train``: the number of
    cross-subject training clips, default half).

    The coordinates cycle through a pool of 16 random clips: only the sizes
    matter here, and drawing gigabytes of random numbers would dominate.
    """
    from msclr_plugin.datasets import SkeletonStoreWriter
    from msclr_plugin.skeletons import get_layout
    rng = np.random.default_rng(0)
    pool = {
        c: rng.normal(size=(16, persons, frames, get_layout(c).num_joints,
                            3)).astype(np.float32)
        for c in conventions
    }
    with SkeletonStoreWriter(root, {c: c for c in conventions}) as writer:
        for i in range(clips):
            writer.add(f'SYN{i:013d}A{i % 120 + 1:03d}', i % 120,
                       {c: clip[i % 16] for c, clip in pool.items()})
        ids = np.arange(clips)
        train = (ids % 2 == 0 if xsub_train is None else
                 np.isin(ids, np.linspace(0, clips - 1, xsub_train).round()))
        writer.set_splits(
            dict(
                xsub_train=ids[train], xsub_val=ids[~train],
                xset_train=ids[ids % 3 != 0], xset_val=ids[ids % 3 == 0]))


def run_scale(args):
    """Open the store --store as a pretraining dataset and read --batches
    batches from --workers forked workers; prints a JSON line."""
    load_start = os.getloadavg()[0]
    import torch
    from mmengine.config import Config
    from mmengine.dataset import DefaultSampler, pseudo_collate
    from torch.utils.data import DataLoader

    from msclr_plugin.datasets import (ConventionGroupedBatchSampler,
                                       MultiSkeletonDataset)
    torch.set_num_threads(args.threads)
    cfg = Config.fromfile(
        os.path.join(ROOT, 'configs', '_base_', 'datasets',
                     'aimclr_views.py'))
    start = time.perf_counter()
    dataset = MultiSkeletonDataset(
        args.store,
        conventions=args.conventions,
        mode='pretrain',
        pipeline=cfg.pretrain_pipeline,
        seed=0)
    open_s = time.perf_counter() - start
    opened = _memory_mb(os.getpid())
    sampler = ConventionGroupedBatchSampler(
        DefaultSampler(dataset, shuffle=True, seed=0), args.batch,
        drop_last=True)
    # fork, as configs/_base_/default_runtime.py sets for training
    loader = DataLoader(
        dataset,
        batch_sampler=sampler,
        num_workers=args.workers,
        collate_fn=pseudo_collate,
        multiprocessing_context='fork')
    start = time.perf_counter()
    batches = iter(loader)
    for _ in range(args.batches):
        next(batches)
    read_s = time.perf_counter() - start
    workers = [_memory_mb(pid) for pid in _child_pids()]
    main = _memory_mb(os.getpid())
    del batches  # stops the workers
    result = dict(
        kind='scale',
        clips=dataset.num_clips,
        items=len(dataset),
        conventions=dataset.conv_names,
        batch=args.batch,
        batches=args.batches,
        open_s=open_s,
        read_s=read_s,
        samples_per_s=args.batch * args.batches / read_s,
        main_opened=opened,
        main=main,
        workers=workers,
        worker_mean={
            k: statistics.mean(w[k] for w in workers)
            for k in workers[0]
        },
        load_avg_1min=[load_start, os.getloadavg()[0]])
    print('RESULT ' + json.dumps(result), flush=True)


def bench_scale(args):
    """Dataloader memory for every store size in --clips, side by side."""
    import msclr_plugin  # noqa: F401  (imported before the writes are timed)
    results = []
    root = args.store or tempfile.mkdtemp(prefix='msclr_scale_')
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    try:
        for clips in args.clips:
            path = os.path.join(
                root, f'scale_{clips}c_{args.clip_frames}f_{args.persons}m_'
                + '_'.join(args.conventions))
            write_s = None
            if not os.path.isfile(os.path.join(path, 'index.json')):
                start = time.perf_counter()
                make_scale_store(path, clips, args.conventions,
                                 args.clip_frames, args.persons)
                write_s = time.perf_counter() - start
            cmd = [
                sys.executable, __file__, '_scale', '--store', path,
                '--batch', str(args.batch[0]), '--workers', str(args.workers),
                '--batches', str(args.batches), '--threads', str(args.threads),
                '--conventions', *args.conventions
            ]
            r, = run_children(cmd, env, f'scale {clips} clips')
            r.update(
                store_bytes=sum(
                    e.stat().st_size for e in os.scandir(path)),
                store_write_s=write_s,
                clip_frames=args.clip_frames)
            results.append(r)
            w = r['worker_mean']
            print(f'  scale {clips:7d} clips ({r["store_bytes"] / 2**30:.2f} '
                  f'GiB): open {r["open_s"]:.2f} s, main RSS '
                  f'{r["main"]["rss_mb"]:.0f} MB; per worker ('
                  f'{len(r["workers"])}, mean) RSS {w["rss_mb"]:.0f} MB, PSS '
                  f'{w["pss_mb"]:.0f} MB, USS {w["uss_mb"]:.1f} MB after '
                  f'{r["batches"]} batches of {r["batch"]}', flush=True)
    finally:
        if not args.store:
            shutil.rmtree(root)
    return results


def bench_collate(args):
    """What the main process spends per batch on what the dataloader
    workers hand over, ``pseudo_collate`` against ``multi_skeleton_collate``
    side by side: CPU seconds of the main process per batch (receiving the
    batch, then the data preprocessor), over --batches batches of a grouped
    pretraining loader (AimCLR views, 2 workers) on a synthetic store."""
    import torch
    from mmengine.config import Config
    from mmengine.dataset import DefaultSampler, pseudo_collate
    from torch.utils.data import DataLoader

    from msclr_plugin.datasets import (ConventionGroupedBatchSampler,
                                       MultiSkeletonDataset,
                                       multi_skeleton_collate)
    from msclr_plugin.models import MultiSkeletonDataPreprocessor
    torch.set_num_threads(args.threads)
    batch = args.batch[0]
    root = args.store or tempfile.mkdtemp(prefix='msclr_collate_')
    path = os.path.join(root, f'collate_{batch * (args.batches + 4)}c')
    results = []
    try:
        if not os.path.isfile(os.path.join(path, 'index.json')):
            make_scale_store(path, batch * (args.batches + 4),
                             args.conventions, args.clip_frames, args.persons)
        cfg = Config.fromfile(
            os.path.join(ROOT, 'configs', '_base_', 'datasets',
                         'aimclr_views.py'))
        dataset = MultiSkeletonDataset(
            path, conventions=args.conventions, mode='pretrain',
            pipeline=cfg.pretrain_pipeline, seed=0)
        pre = MultiSkeletonDataPreprocessor()
        for name, fn in (('pseudo_collate', pseudo_collate),
                         ('multi_skeleton_collate', multi_skeleton_collate)):
            loader = DataLoader(
                dataset,
                batch_sampler=ConventionGroupedBatchSampler(
                    DefaultSampler(dataset, shuffle=True, seed=0), batch,
                    drop_last=True),
                num_workers=args.workers, collate_fn=fn,
                multiprocessing_context='fork')
            batches = iter(loader)
            next(batches)
            receive, preprocess = CPUMeter(), CPUMeter()
            for _ in range(args.batches):
                with receive:
                    data = next(batches)
                with preprocess:
                    pre(data)
            del batches
            results.append(
                dict(kind='collate', collate=name, batch=batch,
                     workers=args.workers, batches=args.batches,
                     receive_cpu_ms=receive.cpu / args.batches * 1e3,
                     preprocess_cpu_ms=preprocess.cpu / args.batches * 1e3))
            r = results[-1]
            print(f'  collate {name:22s} batch {batch}: main process '
                  f'{r["receive_cpu_ms"]:.1f} ms CPU to receive a batch, '
                  f'{r["preprocess_cpu_ms"]:.1f} ms to preprocess it',
                  flush=True)
    finally:
        if not args.store:
            shutil.rmtree(root)
    return results


def summarise_steps(steps, name):
    """Ratios of the step results of one backbone, ``{(mode, batch,
    setting, repeat): result}``."""
    lines = []

    def util(*rs):
        return ' / '.join(f'{r["cpu_util"]:.2f}' for r in rs)

    def per_cpu(a, b):
        # clips per CPU second of the process: on a loaded machine a
        # process waits for a core, so wall clips/s follow the load; CPU
        # seconds (one thread) follow the work
        return (f'{cpu_rate(a) / cpu_rate(b):.2f}x'
                if cpu_rate(a) and cpu_rate(b) else 'n/a')

    for repeat, batch, variant in dict.fromkeys(
            (rep, b, v) for _, b, v, rep in steps):
        grouped, padded, single = (
            steps.get((mode, batch, variant, repeat))
            for mode in ('grouped', 'padded', 'single'))
        tag = f'{name}batch {batch} {variant}' + (f' (repeat {repeat})'
                                                  if repeat else '')
        if grouped and padded:
            lines.append(
                f'{tag}: grouped / padded clips/s = '
                f'{grouped["clips_per_s"] / padded["clips_per_s"]:.2f}x, '
                f'peak RSS grouped / padded = '
                f'{grouped["peak_rss_mb"] / padded["peak_rss_mb"]:.2f}x, '
                f'clips per CPU s = {per_cpu(grouped, padded)} '
                f'(CPU s/s {util(grouped, padded)})')
        if grouped and single:
            lines.append(
                f'{tag}: grouped (MS-AimCLR) / single (AimCLR) clips/s = '
                f'{grouped["clips_per_s"] / single["clips_per_s"]:.2f}x, '
                f'clips per CPU s = {per_cpu(grouped, single)} '
                f'(CPU s/s {util(grouped, single)})')

    def plain(mode, batch, repeat):
        # float32 without recompute: for padded, the reference's form
        return (steps.get((mode, batch, 'fp32', repeat)) or steps.get(
            (mode, batch, 'fp32 recompute=off', repeat)))

    for (mode, batch, variant, repeat), r in steps.items():
        ref = plain('padded', batch, repeat)
        if mode == 'grouped' and ref and variant != setting(ref):
            lines.append(
                f'{name}batch {batch} grouped {variant} / padded '
                f"{setting(ref)} (the reference's form): clips/s "
                f'{r["clips_per_s"] / ref["clips_per_s"]:.2f}x (per CPU s '
                f'{per_cpu(r, ref)}), peak RSS '
                f'{r["peak_rss_mb"] / ref["peak_rss_mb"]:.2f}x'
                + (f' (repeat {repeat})' if repeat else ''))
    for (mode, batch, variant, repeat), r in steps.items():
        base = plain(mode, batch, repeat)
        if base and base is not r:
            lines.append(
                f'{name}batch {batch} {mode}: {variant} / {setting(base)}: '
                f'clips/s {r["clips_per_s"] / base["clips_per_s"]:.2f}x (per '
                f'CPU s {per_cpu(r, base)}), peak RSS '
                f'{r["peak_rss_mb"] / base["peak_rss_mb"]:.2f}x'
                + (f' (repeat {repeat})' if repeat else ''))
    return lines


def summarise(results):
    lines = []
    measured = [r for r in results if 'mode' in r and 'error' not in r]
    for backbone in dict.fromkeys(r.get('backbone', 'stgcn')
                                  for r in measured):
        steps = {(r['mode'], r['batch'], setting(r), r.get('repeat', 0)): r
                 for r in measured if r.get('backbone', 'stgcn') == backbone}
        name = '' if backbone == 'stgcn' else f'{backbone} '
        lines += summarise_steps(steps, name)
    scale = sorted((r for r in results if r.get('kind') == 'scale'),
                   key=lambda r: r['clips'])
    if len(scale) > 1:
        small, big = scale[0], scale[-1]
        growth = ', '.join(
            f'{k[:-3].upper()} {small["worker_mean"][k]:.1f} -> '
            f'{big["worker_mean"][k]:.1f} MB'
            for k in ('rss_mb', 'pss_mb', 'uss_mb'))
        lines.append(
            f'scale {small["clips"]} -> {big["clips"]} clips: per worker '
            f'{growth}; main RSS {small["main"]["rss_mb"]:.0f} -> '
            f'{big["main"]["rss_mb"]:.0f} MB')
    return lines


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        'what',
        nargs='?',
        default='all',
        choices=['step', 'data', 'layers', 'scale', 'collate', 'all', '_step',
                 '_scale'],
        help='what to measure (default: all)')
    parser.add_argument('--conventions', nargs='+',
                        default=['kinectv2_25', 'smplx_42'])
    parser.add_argument('--modes', nargs='+',
                        default=['single', 'grouped', 'padded'])
    parser.add_argument('--backbones', nargs='+', default=['stgcn'],
                        choices=BACKBONES,
                        help='step: the encoders to measure (stgcn: '
                        "AimCLR's; the others at their standard width)")
    parser.add_argument('--batch', nargs='+', type=int, default=[16, 64])
    parser.add_argument('--frames', type=int, default=50)
    parser.add_argument('--persons', type=int, default=2)
    parser.add_argument('--iters', type=int, default=8,
                        help='measured steps (a multiple of 4 for grouped)')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--queue-len', type=int, default=32768)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--variants', nargs='+', default=['fp32'],
                        help='fp32 and/or bf16 (autocast), each optionally '
                        '+graph (CUDA graphs), e.g. fp32 bf16+graph')
    parser.add_argument('--gcn-recompute', nargs='+', default=['default'],
                        choices=sorted(RECOMPUTE),
                        help="step: the backbone's gcn_recompute; several "
                        'values run side by side, each in its own process')
    parser.add_argument('--repeat', type=int, default=1,
                        help='step: run the whole sequence this many times '
                        '(interleaved repeats on a shared machine)')
    parser.add_argument('--amp', action='store_true',
                        help='shorthand for --variants bf16')
    parser.add_argument('--count-flops', action='store_true',
                        help='count the FLOPs of a step (conv and matmul, '
                        'torch.utils.flop_counter) during the warm-up')
    parser.add_argument('--malloc-tuned', action='store_true',
                        help='glibc settings that keep freed activations '
                        '(msclr_plugin.utils.tune_allocator); applied to '
                        'every mode alike')
    parser.add_argument('--data-samples', type=int, default=2000)
    parser.add_argument('--clips', nargs='+', type=int,
                        default=[10000, 114480],
                        help='scale: store sizes (NTU-120: 114480 clips)')
    parser.add_argument('--clip-frames', type=int, default=20,
                        help='scale: frames per stored clip')
    parser.add_argument('--workers', type=int, default=4,
                        help='scale: dataloader workers')
    parser.add_argument('--batches', type=int, default=50,
                        help='scale: batches read (of the first --batch)')
    parser.add_argument('--store',
                        help='scale: directory keeping the synthetic stores '
                        'for reuse (default: a temporary one, removed)')
    parser.add_argument('--quick', action='store_true',
                        help='CI-sized: batch 2, 8 frames, 1 iteration; '
                        'scale: 200 clips, 2 workers, 2 batches')
    parser.add_argument('--out', help='write the results as JSON')
    args = parser.parse_args(argv)
    if args.quick:
        args.batch, args.frames, args.iters, args.warmup = [2], 8, 1, 1
        args.queue_len, args.data_samples = 64, 100
        args.clips, args.clip_frames, args.workers, args.batches = \
            [200], 8, 2, 2
    if args.amp:
        args.variants = ['bf16']
    for variant in args.variants:
        parse_variant(variant)  # fails early on a typo
    if args.what in ('_step', '_scale'):
        args.batch = args.batch[0]
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.what == '_step':
        run_step(args)
        return
    if args.what == '_scale':
        run_scale(args)
        return
    import torch
    results = []
    print(f'machine: {platform.processor() or platform.machine()}, '
          f'{os.cpu_count()} cpus, torch {torch.__version__}, threads '
          f'{args.threads}, device {args.device}, variants {args.variants}, malloc '
          f'tuned: {args.malloc_tuned}, load average {os.getloadavg()}')
    if args.what in ('step', 'all'):
        results += bench_steps(args)
        for line in summarise(results):
            print('  ' + line)
    if args.what in ('layers', 'all'):
        results += bench_layers(args)
    if args.what in ('data', 'all'):
        results += bench_data(args)
    if args.what in ('collate', 'all'):
        results += bench_collate(args)
    if args.what in ('scale', 'all'):
        scale = bench_scale(args)
        for line in summarise(scale):
            print('  ' + line)
        results += scale
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(
                dict(
                    command=' '.join(
                        [sys.argv[0]] + list(argv) if argv is not None else
                        sys.argv),
                    torch=torch.__version__,
                    cpu_count=os.cpu_count(),
                    platform=platform.platform(),
                    args={k: v for k, v in vars(args).items()},
                    results=results,
                    summary=summarise(results)), f, indent=1)
    return results


if __name__ == '__main__':
    main()
