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
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEMO = osp.join('configs', 'msclr', 'demo')


def run(cmd, log):
    print(f'[demo] $ {" ".join(cmd)}', flush=True)
    start = time.time()
    with open(log, 'w') as f:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode:
        with open(log) as f:
            tail = f.read()[-3000:]
        sys.exit(f'[demo] failed ({proc.returncode}), see {log}:\n{tail}')
    print(f'[demo]   done in {time.time() - start:.0f} s (log: {log})',
          flush=True)


def finished(work_dir, epochs):
    """Whether an earlier run of this job already trained ``epochs``."""
    return osp.isfile(osp.join(work_dir, f'epoch_{epochs}.pth'))


def last_checkpoint(work_dir):
    ckpts = glob.glob(osp.join(work_dir, 'epoch_*.pth'))
    if not ckpts:
        sys.exit(f'[demo] no checkpoint in {work_dir}')
    return max(ckpts, key=lambda p: int(p.rsplit('_', 1)[1][:-4]))


def top1_of_dump(path):
    from msclr_plugin.evaluation.accuracy import accuracy_report
    from msclr_plugin.evaluation.fusion import load_dump
    scores, labels, _ = load_dump(path)
    return accuracy_report(scores, labels, topk=(1, 5))


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
    if not osp.isfile(osp.join(data, 'index.json')):
        run([py, 'tools/data/make_synthetic.py', '--out', data,
             '--clips-per-class', str(args.clips_per_class),
             '--num-person', '1'], osp.join(work, 'make_synthetic.log'))
    data_opt = [f'train_dataloader.dataset.ann_file={data}']
    eval_data_opt = data_opt + [
        f'val_dataloader.dataset.ann_file={data}',
        f'test_dataloader.dataset.ann_file={data}'
    ]

    results = {}
    models = dict(
        aimclr=dict(epochs=2 * args.pretrain_epochs, tests=dict(kinect='')),
        ms_aimclr=dict(
            epochs=args.pretrain_epochs,
            tests=dict(
                kinect='', ensemble='_ensemble', transfer_to_coco='_transfer')))
    for name, spec in models.items():
        epochs = spec['epochs']
        pre_dir = osp.join(work, name)
        if not finished(pre_dir, epochs):
            run([py, 'tools/train.py', f'{DEMO}/{name}_synthetic.py',
                 '--work-dir', pre_dir, '--cfg-options', *data_opt,
                 f'train_cfg.max_epochs={epochs}',
                 f'model.mining_epoch={max(1, epochs * 2 // 3)}',
                 f'param_scheduler.0.milestones=[{max(1, epochs - 1)}]',
                 f'default_hooks.checkpoint.interval={epochs}'],
                osp.join(work, f'{name}_pretrain.log'))
        pre_ckpt = last_checkpoint(pre_dir)
        lin_cfg = f'{DEMO}/linear_{name}_synthetic.py'
        lin_dir = osp.join(work, f'{name}_linear')
        lin = args.linear_epochs
        if not finished(lin_dir, lin):
            run([py, 'tools/train.py', lin_cfg, '--work-dir', lin_dir,
                 '--cfg-options', *eval_data_opt,
                 f'model.backbone.init_cfg.checkpoint={pre_ckpt}',
                 f'train_cfg.max_epochs={lin}', f'train_cfg.val_begin={lin}',
                 f'train_cfg.val_interval={lin}',
                 f'param_scheduler.0.milestones=[{max(1, lin * 4 // 5)}]',
                 f'default_hooks.checkpoint.interval={lin}'],
                osp.join(work, f'{name}_linear.log'))
        lin_ckpt = last_checkpoint(lin_dir)
        row = {}
        for test, suffix in spec['tests'].items():
            dump = osp.join(work, f'{name}_{test}_scores.pkl')
            run([py, 'tools/test.py',
                 f'{DEMO}/linear_{name}_synthetic{suffix}.py', lin_ckpt,
                 '--work-dir', osp.join(work, f'{name}_{test}_test'),
                 '--dump', dump, '--cfg-options', *eval_data_opt],
                osp.join(work, f'{name}_{test}_test.log'))
            row[test] = top1_of_dump(dump)
        knn_out = osp.join(work, f'{name}_knn.json')
        run([py, 'tools/knn_eval.py', f'{DEMO}/linear_aimclr_synthetic.py',
             pre_ckpt, '--out', knn_out, '--cfg-options', *eval_data_opt],
            osp.join(work, f'{name}_knn.log'))
        with open(knn_out) as f:
            row['knn'] = json.load(f)
        results[name] = row

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
        json.dump(dict(results=results, table=lines), f, indent=1)


if __name__ == '__main__':
    main()
