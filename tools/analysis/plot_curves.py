"""Training curves of one or more mmengine work dirs, one subplot per key.

Reads ``<work_dir>/<timestamp>/vis_data/scalars.json`` (every run of a work
dir, in timestamp order, so a resumed run continues its curve; a later run
overrides an earlier one at the same x). Train records (they carry
``iter``) are drawn against the iteration, the others (validation metrics,
kNN monitoring) against their ``step`` (the epoch in epoch-based loops).

Example:
    python tools/analysis/plot_curves.py work_dirs/exp1/ms_aimclr \
        work_dirs/exp1/aimclr --keys loss loss_nce knn/top1 \
        --labels MS-AimCLR AimCLR --out docs/figures/curves_msr3d.png
"""
import argparse
import glob
import json
import os
import os.path as osp
from typing import Dict, List, Tuple

import matplotlib

matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the backend)

Curve = Tuple[List[float], List[float]]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('work_dirs', nargs='+', help='mmengine work dirs')
    parser.add_argument(
        '--keys', nargs='+', default=['loss'], help='scalars to plot')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument(
        '--labels', nargs='+', help='legend names (default: dir names)')
    return parser.parse_args(argv)


def load_scalars(work_dir: str) -> List[dict]:
    """Every record of every run of a work dir, oldest run first.

    Args:
        work_dir (str): An mmengine work dir (or one run's timestamp dir).

    Returns:
        list[dict]: The JSON records.
    """
    paths = sorted(
        glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')) +
        glob.glob(osp.join(work_dir, 'vis_data', 'scalars.json')))
    if not paths:
        raise SystemExit(f'error: {work_dir} has no */vis_data/scalars.json '
                         '(not an mmengine work dir, or nothing logged yet)')
    records = []
    for path in paths:
        with open(path) as f:
            records.extend(json.loads(line) for line in f if line.strip())
    return records


def curve(records: List[dict], key: str) -> Tuple[Curve, bool]:
    """``(x, y)`` of one key, sorted by x, and whether x is the iteration.

    Args:
        records (list[dict]): One work dir's records.
        key (str): Scalar name.

    Returns:
        tuple: ``((xs, ys), by_iter)``; empty lists where the key is absent.
    """
    having = [r for r in records if key in r]
    by_iter = any('iter' in r for r in having)
    points = {}
    for r in having:
        if by_iter == ('iter' in r):
            points[r['iter'] if by_iter else r['step']] = r[key]
    xs = sorted(points)
    return (xs, [points[x] for x in xs]), by_iter


def main(argv=None) -> Dict[str, Dict[str, Curve]]:
    args = parse_args(argv)
    labels = args.labels or [
        osp.basename(osp.normpath(d)) for d in args.work_dirs
    ]
    if len(labels) != len(args.work_dirs):
        raise SystemExit(f'error: {len(labels)} labels for '
                         f'{len(args.work_dirs)} work dirs')
    runs = [load_scalars(d) for d in args.work_dirs]
    curves, by_iter = {}, {}
    for key in args.keys:
        found = {label: curve(records, key) for label, records in zip(labels, runs)}
        curves[key] = {label: c for label, (c, _) in found.items() if c[0]}
        if not curves[key]:
            raise SystemExit(f'error: key {key!r} is in none of '
                             f'{", ".join(args.work_dirs)}')
        by_iter[key] = any(found[label][1] for label in curves[key])

    ncols = min(3, len(args.keys))
    nrows = -(-len(args.keys) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(5 * ncols, 3.6 * nrows), squeeze=False)
    for ax, key in zip(axes.flat, args.keys):
        for label, (xs, ys) in curves[key].items():
            # sparse per-epoch points get markers
            ax.plot(xs, ys, label=label, marker=None if by_iter[key] else 'o',
                    markersize=3)
        ax.set_xlabel('iteration' if by_iter[key] else 'epoch')
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in axes.flat[len(args.keys):]:
        ax.set_visible(False)
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    fig.savefig(args.out, dpi=120)
    plt.close(fig)
    print(f'{len(args.keys)} curves -> {args.out}')
    return curves


if __name__ == '__main__':
    main()
