"""Optimisation steps of training configs, epoch by epoch, without training.

Builds each config's train dataloader (the dataset index only, no model)
and reads its length for every epoch: the way to give two configs exactly
the same number of steps (e.g. AimCLR and MS-AimCLR, whose epochs hold
N and N x conventions items). With ``--gpus N`` the count is that of N
processes of the config's per-process batch (one global batch per step).
With ``ConventionGroupedBatchSampler(mix_leftovers=True)`` (or no batch
sampler) the count is fixed; without it, each epoch's count depends on the
convention pairs drawn, shown here for the config's seed.

Example:
    python tools/analysis/count_steps.py configs/msclr/ms_aimclr_msr3d_xsub.py \
        configs/msclr/aimclr_msr3d_xsub.py
"""
import argparse

from mmengine.config import Config

import msclr_plugin  # noqa: F401  (stack fixes + registration, first)
from msclr_plugin.utils.cli import add_cfg_options
from msclr_plugin.utils.compare import count_steps


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('configs', nargs='+', help='training configs')
    parser.add_argument('--gpus', type=int, default=1,
                        help='processes (one global batch per step)')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    totals = []
    for path in args.configs:
        cfg = Config.fromfile(path)
        if args.cfg_options:
            cfg.merge_from_dict(args.cfg_options)
        steps = count_steps(cfg, args.gpus)
        batch = cfg.train_dataloader.batch_size
        per_epoch = (str(steps[0]) if len(set(steps)) == 1 else
                     f'{min(steps)}-{max(steps)} {steps}')
        print(f'{path}: global batch {batch * args.gpus} ({batch} x '
              f'{args.gpus} process(es)), {len(steps)} epochs x {per_epoch} '
              f'steps = {sum(steps)} steps')
        totals.append(sum(steps))
    if len(totals) > 1:
        print('equal steps' if len(set(totals)) == 1 else
              f'different steps: {totals}')


if __name__ == '__main__':
    main()
