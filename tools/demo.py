"""The main job: MS-AimCLR vs AimCLR on the embedded SYNTHETIC default data.

Runs, with the project's own tools (each step a subprocess, as a user would):
1. tools/data/make_synthetic.py: a multi-convention synthetic store;
2. tools/train.py: MS-AimCLR (Kinect v2 + COCO) and AimCLR (Kinect v2)
   pretraining, the same number of steps each;
3. tools/train.py: a linear probe of each frozen encoder;
4. tools/test.py --dump: Kinect v2 test scores, the skeleton-specific
   ensemble (softmax averaged over conventions) and cross-convention
   transfer (Kinect classifier on COCO clips);
5. tools/knn_eval.py: kNN top-1 of each encoder;
then prints a table and writes it to <work-dir>/results.json. The numbers
are produced by this run; nothing is copied from elsewhere. Steps whose
final checkpoint already exists in the work dir are not run again.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

from msclr_plugin.utils.jobs import JobRunner, pretrain_and_evaluate

DEMO = osp.join('configs', 'msclr', 'demo')


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--clips-per-class', type=int, default=3)
    parser.add_argument('--pretrain-epochs', type=int, default=3,
                        help='MS-AimCLR epochs (AimCLR runs twice as many: '
                        'its epochs hold half the items)')
    parser.add_argument('--linear-epochs', type=int, default=8)
    args = parser.parse_args()
    py = sys.executable
    work = args.work_dir
    os.makedirs(work, exist_ok=True)
    data = osp.join(work, 'synthetic')
    start = time.time()
    jobs = JobRunner('demo')
    if not osp.isfile(osp.join(data, 'index.json')):
        jobs.run(
            [py, 'tools/data/make_synthetic.py', '--out', data, '--clips-per-class',
             str(args.clips_per_class), '--num-person', '1'],
            osp.join(work, 'make_synthetic.log'))
    data_opt = [f'train_dataloader.dataset.ann_file={data}']
    eval_data_opt = data_opt + [
        f'val_dataloader.dataset.ann_file={data}',
        f'test_dataloader.dataset.ann_file={data}'
    ]

    results = {}
    for name, epochs, tests in (
            ('aimclr', 2 * args.pretrain_epochs, dict(kinect='')),
            ('ms_aimclr', args.pretrain_epochs,
             dict(kinect='', ensemble='_ensemble', transfer_to_coco='_transfer'))):
        lin = args.linear_epochs
        results[name] = pretrain_and_evaluate(
            jobs, work, name,
            pretrain_cfg=f'{DEMO}/{name}_synthetic.py',
            linear_cfg=f'{DEMO}/linear_{name}_synthetic.py',
            tests={test: f'{DEMO}/linear_{name}_synthetic{suffix}.py'
                   for test, suffix in tests.items()},
            knn_cfg=f'{DEMO}/linear_aimclr_synthetic.py',
            epochs=epochs,
            linear_epochs=lin,
            pretrain_opts=[
                *data_opt, f'model.mining_epoch={max(1, epochs * 2 // 3)}',
                f'param_scheduler.0.milestones=[{max(1, epochs - 1)}]',
                f'default_hooks.checkpoint.interval={epochs}'
            ],
            linear_opts=[
                f'train_cfg.val_begin={lin}', f'train_cfg.val_interval={lin}',
                f'param_scheduler.0.milestones=[{max(1, lin * 4 // 5)}]',
                f'default_hooks.checkpoint.interval={lin}'
            ],
            eval_opts=eval_data_opt)

    def pct(row, key):
        if key not in row:
            return '   -  '
        value = row[key].get('top1', row[key].get('knn_top1'))
        return f'{100 * value:5.1f}' if value is not None else '   ?  '

    lines = [
        'SYNTHETIC default data (tools/data/make_synthetic.py), '
        f'{time.time() - start:.0f} s in all',
        f'{"model":10s} | linear top-1 (Kinect) | kNN top-1 | ensemble top-1 '
        '| Kinect->COCO transfer',
    ]
    for name, row in results.items():
        lines.append(f'{name:10s} | {pct(row, "kinect"):>21s} | '
                     f'{pct(row, "knn"):>9s} | {pct(row, "ensemble"):>14s} | '
                     f'{pct(row, "transfer_to_coco"):>21s}')
    print('\n'.join(lines))
    with open(osp.join(work, 'results.json'), 'w') as f:
        json.dump(dict(results=results, table=lines, commands=jobs.records), f, indent=1)


if __name__ == '__main__':
    main()
