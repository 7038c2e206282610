"""Benchmark MS-AimCLR pretraining steps and the AimCLR data pipeline.

Step: one full pretraining step (normal query, extreme query (+ EADM), key;
losses; backward; SGD; EMA; enqueue) in clips/s and peak memory, for

- ``single``:  AimCLR on one convention (the first of --conventions);
- ``grouped``: MS-AimCLR, every batch one (query, key) convention pair at
  native joint counts (ConventionGroupedBatchSampler), pairs cycled evenly;
- ``padded``:  MS-AimCLR on mixed batches zero-padded to the largest joint
  count (the reference MS-CLR approach), padded joints masked.

Each (mode, batch) runs in its own process so that peak RSS is its own;
every process gets the same allocator settings (--malloc-tuned applies
``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=1TiB`` to all of them).

Data: samples/s of the 3-view AimCLR transforms (normal, normal, extreme)
on one core, from the pipelines in configs/_base_/datasets/aimclr_views.py.

Examples:
    python tools/benchmark.py step --batch 16 64 --out bench.json
    python tools/benchmark.py data
    python tools/benchmark.py all --quick      # CI-sized
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TUNED_MALLOC = dict(
    MALLOC_MMAP_MAX_='0', MALLOC_TRIM_THRESHOLD_=str(1 << 40))
AIMCLR_ENCODER = dict(
    type='MSSTGCN',
    channels=(16, 16, 16, 16, 32, 32, 32, 64, 64, 256),
    down_stages=(5, 8),
    tcn_dropout=0.5)


def build_model(layouts, queue_len):
    import msclr_plugin  # noqa: F401
    from mmaction.registry import MODELS
    backbone = dict(
        AIMCLR_ENCODER,
        graph_cfg=dict(type='MultiSkeletonGraph', layouts=list(layouts)))
    return MODELS.build(
        dict(
            type='MSAimCLR',
            backbone=backbone,
            neck=dict(type='MSProjectionNeck'),
            queue_len=queue_len,
            data_preprocessor=None))


def make_batch(mode, conventions, batch, frames, persons, step, rng,
               device):
    """Inputs and data samples of one batch for a benchmark mode."""
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
        return x.to(device)

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


def run_step(args):
    """Measure one (mode, batch) in this process; prints a JSON line."""
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    device = torch.device(args.device)
    conventions = args.conventions[:1] if args.mode == 'single' \
        else args.conventions
    model = build_model(conventions, args.queue_len).to(device).train()
    optim = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad],
        lr=0.1, momentum=0.9, weight_decay=1e-4)
    rng = np.random.default_rng(0)
    times = []
    if device.type == 'cuda':
        torch.cuda.reset_peak_memory_stats()
    for step in range(args.warmup + args.iters):
        inputs, samples = make_batch(args.mode, conventions, args.batch,
                                     args.frames, args.persons, step, rng,
                                     device)
        if device.type == 'cuda':
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast(device.type, enabled=args.amp):
            losses = model.loss(inputs, samples)
            loss = sum(v for k, v in losses.items() if k.startswith('loss'))
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        if device.type == 'cuda':
            torch.cuda.synchronize()
        if step >= args.warmup:
            times.append(time.perf_counter() - start)
    result = dict(
        mode=args.mode,
        batch=args.batch,
        conventions=conventions,
        median_step_s=statistics.median(times),
        clips_per_s=args.batch / statistics.median(times),
        peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        loss=float(loss))
    if device.type == 'cuda':
        result['peak_cuda_mb'] = torch.cuda.max_memory_allocated() / 2**20
    print('RESULT ' + json.dumps(result), flush=True)


def bench_steps(args):
    results = []
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    if args.malloc_tuned:
        env.update(TUNED_MALLOC)
    for batch in args.batch:
        for mode in args.modes:
            cmd = [
                sys.executable, __file__, '_step', '--mode', mode,
                '--batch', str(batch), '--frames', str(args.frames),
                '--persons', str(args.persons), '--iters', str(args.iters),
                '--warmup', str(args.warmup), '--threads', str(args.threads),
                '--device', args.device, '--queue-len', str(args.queue_len),
                '--conventions', *args.conventions
            ] + (['--amp'] if args.amp else [])
            out = subprocess.run(
                cmd, env=env, capture_output=True, text=True, check=False)
            line = [ln for ln in out.stdout.splitlines()
                    if ln.startswith('RESULT ')]
            if out.returncode or not line:
                raise RuntimeError(f'benchmark {mode} b{batch} failed:\n'
                                   f'{out.stdout[-2000:]}{out.stderr[-4000:]}')
            results.append(json.loads(line[0][7:]))
            r = results[-1]
            print(f'  step {mode:8s} batch {batch:4d}: {r["clips_per_s"]:7.1f} '
                  f'clips/s  ({r["median_step_s"]:.3f} s/step, peak RSS '
                  f'{r["peak_rss_mb"]:.0f} MB)', flush=True)
    return results


def bench_data(args):
    import msclr_plugin  # noqa: F401
    from mmengine.config import Config
    from mmengine.dataset import Compose

    cfg = Config.fromfile(
        os.path.join(ROOT, 'configs', '_base_', 'datasets',
                     'aimclr_views.py'))
    rng = np.random.default_rng(0)
    conv = args.conventions[0]
    from msclr_plugin.skeletons import get_layout
    joints = get_layout(conv).num_joints
    pipe = Compose([
        dict(
            type='MSMultiView',
            pipelines=dict(
                query=cfg.normal_view,
                query_extreme=cfg.extreme_view,
                key=cfg.normal_view))
    ])
    clip = rng.normal(size=(args.persons, args.frames, joints, 3)).astype(
        np.float32)

    def sample():
        return pipe(
            dict(
                clip_name='bench',
                label=0,
                skeletons={conv: clip.copy()},
                views=dict(query=conv, query_extreme=conv, key=conv)))

    for _ in range(20):
        sample()
    count = args.data_samples
    start = time.perf_counter()
    for _ in range(count):
        sample()
    rate = count / (time.perf_counter() - start)
    print(f'  data 3-view AimCLR transforms, {conv} {args.persons}x'
          f'{args.frames}x{joints}: {rate:.0f} samples/s (one core)')
    return [dict(kind='data', convention=conv, samples_per_s=rate)]


def summarise(results):
    by = {(r['mode'], r['batch']): r for r in results if 'mode' in r}
    lines = []
    for batch in sorted({b for _, b in by}):
        grouped, padded = by.get(('grouped', batch)), by.get(('padded', batch))
        single = by.get(('single', batch))
        if grouped and padded:
            lines.append(
                f'batch {batch}: grouped / padded clips/s = '
                f'{grouped["clips_per_s"] / padded["clips_per_s"]:.2f}x, '
                f'peak RSS grouped / padded = '
                f'{grouped["peak_rss_mb"] / padded["peak_rss_mb"]:.2f}x')
        if grouped and single:
            lines.append(
                f'batch {batch}: grouped (MS-AimCLR) / single (AimCLR) '
                f'clips/s = {grouped["clips_per_s"] / single["clips_per_s"]:.2f}x')
    return lines


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('what', choices=['step', 'data', 'all', '_step'])
    parser.add_argument('--conventions', nargs='+',
                        default=['kinectv2_25', 'smplx_42'])
    parser.add_argument('--modes', nargs='+',
                        default=['single', 'grouped', 'padded'])
    parser.add_argument('--mode', help=argparse.SUPPRESS)
    parser.add_argument('--batch', nargs='+', type=int, default=[16, 64])
    parser.add_argument('--frames', type=int, default=50)
    parser.add_argument('--persons', type=int, default=2)
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--queue-len', type=int, default=32768)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--amp', action='store_true',
                        help='autocast (bf16 on CPU, fp16 on CUDA)')
    parser.add_argument('--malloc-tuned', action='store_true',
                        help='glibc settings that keep freed activations '
                        '(see PERF_NOTES); applied to every mode alike')
    parser.add_argument('--data-samples', type=int, default=2000)
    parser.add_argument('--quick', action='store_true',
                        help='CI-sized: batch 4, 12 frames, 2 iterations')
    parser.add_argument('--out', help='write the results as JSON')
    args = parser.parse_args(argv)
    if args.what == '_step':
        args.batch = args.batch[0]
    if args.quick:
        args.batch, args.frames, args.iters, args.warmup = [4], 12, 2, 1
        args.queue_len, args.data_samples = 256, 100
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.what == '_step':
        run_step(args)
        return
    import torch
    results = []
    print(f'machine: {platform.processor() or platform.machine()}, '
          f'{os.cpu_count()} cpus, torch {torch.__version__}, threads '
          f'{args.threads}, device {args.device}, malloc tuned: '
          f'{args.malloc_tuned}')
    if args.what in ('step', 'all'):
        results += bench_steps(args)
        for line in summarise(results):
            print('  ' + line)
    if args.what in ('data', 'all'):
        results += bench_data(args)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(
                dict(
                    command=' '.join(sys.argv),
                    torch=torch.__version__,
                    cpu_count=os.cpu_count(),
                    args={k: v for k, v in vars(args).items()},
                    results=results,
                    summary=summarise(results)), f, indent=1)
    return results


if __name__ == '__main__':
    main()
