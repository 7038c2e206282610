"""MS-AimCLR vs AimCLR on real data, several seeds: the results page's table.

For each dataset (MSR Action3D cross-subject, Bandai mocap cross-style) and
seed, with the project's own tools (msclr_plugin/utils/jobs.py): convert the
data from ../shared/data if needed, pretrain AimCLR (the recorded convention)
and MS-AimCLR (the recorded convention + its COCO-17 rendering) with their
configs' schedules, train each linear probe, test it (MS-AimCLR also with
the skeleton-specific ensemble and with cross-convention transfer) and run
kNN. Writes ``<work-dir>/results.json`` (every number per seed, the
versions, the machine, every command with its wall time) and
``<work-dir>/results.md`` (mean +- std over seeds); ``--update-docs FILE``
puts that table between the ``real-results`` markers of FILE. Nothing is
hand-edited; finished steps are reused when the job is re-run.

Example:
    python tools/real_results.py --seeds 0 1 2 --update-docs docs/results.md
"""
import argparse
import json
import os
import os.path as osp
import platform
import sys
import time

import numpy as np
from mmengine.config import Config

from msclr_plugin.utils.jobs import ROOT, JobRunner, pretrain_and_evaluate

CFG = osp.join('configs', 'msclr')
SHARED = osp.join('..', 'shared', 'data')
DATASETS = dict(
    msr3d=dict(
        title='MSR Action3D, cross-subject (291 train / 275 test clips, 20 classes)',
        store='data/msr3d',
        convert=['tools/data/msr3d_to_store.py', '--data-dir',
                 osp.join(SHARED, 'msr_action3d', 'real_world_coordinates'),
                 '--out', 'data/msr3d', '--derived', 'coco'],
        suffix='msr3d_xsub',
        recorded='Kinect v1 (msr_action3d_20)'),
    bandai=dict(
        title='Bandai Namco mocap subset, cross-style (150 train / 50 test clips, '
        '10 classes)',
        store='data/bandai',
        convert=['tools/data/bvh_to_store.py', '--root',
                 osp.join(SHARED, 'bandai_namco_motion2_subset'), '--out',
                 'data/bandai', '--derived', 'coco'],
        suffix='bandai',
        recorded='BVH skeleton (bandai_bvh_22)'),
)
METHODS = dict(
    aimclr=dict(tests=dict(linear='')),
    ms_aimclr=dict(tests=dict(linear='', ensemble='_ensemble', transfer='_transfer')))
COLUMNS = (('linear', 'linear top-1'), ('knn', 'kNN top-1'),
           ('ensemble', 'ensemble top-1'), ('transfer', 'transfer to COCO top-1'))
MARKERS = ('<!-- real-results:begin -->', '<!-- real-results:end -->')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--datasets', nargs='+', default=list(DATASETS),
                        choices=list(DATASETS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--work-dir', default='work_dirs/real_results')
    parser.add_argument('--update-docs', metavar='FILE',
                        help='replace the table between the real-results markers')
    return parser.parse_args(argv)


def top1(row, key):
    entry = row.get(key)
    if entry is None:
        return None
    return 100 * entry.get('top1', entry.get('knn_top1'))


def environment():
    import mmaction
    import mmengine
    import torch

    import msclr_plugin
    return dict(
        python=platform.python_version(), platform=platform.platform(),
        cpus=os.cpu_count(), torch=torch.__version__, torch_threads=torch.get_num_threads(),
        mmengine=mmengine.__version__, mmaction2=mmaction.__version__,
        numpy=np.__version__, msclr_plugin=msclr_plugin.__version__)


def table(results, seeds):
    lines = []
    for ds, rows in results.items():
        spec = DATASETS[ds]
        lines += [f'**{spec["title"]}**; AimCLR: {spec["recorded"]}; MS-AimCLR: the '
                  'same + its COCO-17 rendering. Mean +- std over seeds '
                  f'{", ".join(map(str, seeds))}.', '',
                  '| method | ' + ' | '.join(name for _, name in COLUMNS) + ' |',
                  '|---' * (len(COLUMNS) + 1) + '|']
        for method, per_seed in rows.items():
            cells = []
            for key, _ in COLUMNS:
                values = [top1(r, key) for r in per_seed.values()]
                values = [v for v in values if v is not None]
                cells.append(f'{np.mean(values):.1f} +- {np.std(values):.1f}'
                             if values else '-')
            lines.append(f'| {method} | ' + ' | '.join(cells) + ' |')
        lines.append('')
        for method, per_seed in rows.items():
            lines.append(f'- {method} per seed (linear / kNN): ' + '; '.join(
                f'seed {s}: {top1(r, "linear"):.1f} / {top1(r, "knn"):.1f}'
                for s, r in per_seed.items()))
        lines.append('')
    return lines


def main(argv=None):
    args = parse_args(argv)
    os.chdir(ROOT)
    start = time.time()
    jobs = JobRunner('real')
    results = {}
    for ds in args.datasets:
        spec = DATASETS[ds]
        work = osp.join(args.work_dir, ds)
        os.makedirs(work, exist_ok=True)
        if not osp.isfile(osp.join(spec['store'], 'index.json')):
            jobs.run([sys.executable, *spec['convert']], osp.join(work, 'convert.log'))
        results[ds] = {}
        for method, mspec in METHODS.items():
            pretrain_cfg = osp.join(CFG, f'{method}_{spec["suffix"]}.py')
            linear_cfg = osp.join(CFG, 'linear', f'linear_{method}_{spec["suffix"]}.py')
            results[ds][method] = {}
            for seed in args.seeds:
                results[ds][method][seed] = pretrain_and_evaluate(
                    jobs, osp.join(work, f'seed{seed}'), method,
                    pretrain_cfg=pretrain_cfg, linear_cfg=linear_cfg,
                    tests={t: linear_cfg[:-3] + suffix + '.py'
                           for t, suffix in mspec['tests'].items()},
                    knn_cfg=linear_cfg,
                    epochs=Config.fromfile(pretrain_cfg).train_cfg.max_epochs,
                    linear_epochs=Config.fromfile(linear_cfg).train_cfg.max_epochs,
                    seed=seed)
    lines = table(results, args.seeds)
    wall = time.time() - start
    lines.append(f'Produced by `python tools/real_results.py --datasets '
                 f'{" ".join(args.datasets)} --seeds {" ".join(map(str, args.seeds))}` '
                 f'in {wall / 60:.0f} min ({environment()["cpus"]} CPUs); commands, '
                 'versions and per-step times in its results.json.')
    print('\n'.join(lines))
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(dict(results=results, seeds=args.seeds, environment=environment(),
                       wall_seconds=round(wall), commands=jobs.records), f, indent=1)
    if args.update_docs:
        with open(args.update_docs) as f:
            text = f.read()
        begin, end = (text.index(m) for m in MARKERS)
        text = text[:begin + len(MARKERS[0])] + '\n' + '\n'.join(lines) + '\n' + text[end:]
        with open(args.update_docs, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
