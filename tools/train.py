"""Train a model (pretraining or evaluation) from a config with mmengine.

Same command line as mmaction2 1.x's ``tools/train.py``; msclr_plugin is
imported first, so its stack fixes apply and its components are registered
whatever the config's ``custom_imports`` say.

Examples:
    python tools/train.py configs/msclr/<config>.py
    python tools/train.py <config> --resume            # latest in work_dir
    python tools/train.py <config> --cfg-options train_dataloader.batch_size=64
    python tools/train.py <config> --seed 1 --init-only  # random-encoder control
    python tools/train.py <config> --steps 500    # epochs etc. for 500 steps
    bash tools/dist_train.sh <config> 8                 # torchrun, 8 GPUs
"""
import argparse
import logging
import os
import os.path as osp

from mmengine.config import Config
from mmengine.logging import print_log

import msclr_plugin  # noqa: F401  (stack fixes + registration, first)
from msclr_plugin.utils.cli import add_launcher_args, parse_launcher_args
from msclr_plugin.utils import tune_allocator
from msclr_plugin.utils.checkpoint_files import last_complete_checkpoint
from msclr_plugin.utils.jobs import save_initial_checkpoint
from msclr_plugin.utils.launch import (build_runner, process_group_session,
                                       work_dir_of)
from msclr_plugin.utils.train_steps import format_settings, set_train_steps


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train with msclr_plugin')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='directory for logs and checkpoints')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from this checkpoint, or (no value) from the latest '
        'complete checkpoint of the work directory')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--no-validate', action='store_true', help='skip evaluation during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual / base batch size')
    parser.add_argument('--seed', type=int, default=None, help='random seed')
    parser.add_argument(
        '--diff-rank-seed', action='store_true', help='a different seed on every rank')
    parser.add_argument(
        '--deterministic', action='store_true', help='deterministic cuDNN algorithms')
    parser.add_argument(
        '--init-only',
        action='store_true',
        help='write the model as initialised (seeded by --seed) to '
        '<work-dir>/epoch_0.pth and stop, training nothing: the random-encoder '
        'control of the evaluations')
    parser.add_argument(
        '--plain-config',
        action='store_true',
        help='log and dump the config without yapf formatting (the same Python, '
        'longer lines): mmengine formats it five times a run, about 1.4 s of CPU '
        'on a 2-core sandbox; the tools that run many short pretrainings pass it')
    parser.add_argument(
        '--steps',
        type=int,
        help='train for about this many steps on the config\'s data: sets '
        'max_epochs, the mining epoch, lr milestones and checkpoint / kNN '
        'intervals at the same fraction of training '
        '(tools/analysis/count_steps.py --steps prints them)')
    add_launcher_args(parser)
    return parse_launcher_args(parser, argv)


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line options to the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None
    cfg.launcher = args.launcher
    cfg.work_dir = work_dir_of(cfg, args.config, args.work_dir)
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in ('OptimWrapper', 'AmpOptimWrapper'):
            raise ValueError(f'--amp needs OptimWrapper or AmpOptimWrapper, '
                             f'the config uses {wrapper}')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg:
            raise ValueError('--auto-scale-lr needs auto_scale_lr='
                             'dict(base_batch_size=...) in the config')
        cfg.auto_scale_lr.enable = True
    # the flags override the config's randomness (mmaction2's train.py
    # ignores --seed when the config sets randomness, as every config here does)
    randomness = dict(cfg.get('randomness', None) or {})
    if args.seed is not None:
        randomness['seed'] = args.seed
    if args.diff_rank_seed:
        randomness['diff_rank_seed'] = True
    if args.deterministic:
        randomness['deterministic'] = True
    if randomness:
        cfg.randomness = randomness
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.steps is not None:
        # after --cfg-options: counted on the data the run will read
        gpus = int(os.environ.get('WORLD_SIZE') or os.environ.get('SLURM_NTASKS')
                   or 1) if args.launcher != 'none' else 1
        res = set_train_steps(cfg, args.steps, gpus)
        print_log(f'--steps {args.steps}: {res["steps"]} steps, '
                  f'{format_settings(res["settings"])}', logger='current')
    if args.resume == 'auto':
        # the newest checkpoint that is whole (an interrupted save elsewhere
        # may have left a truncated one); none: train from scratch
        cfg.load_from = last_complete_checkpoint(cfg.work_dir)
        cfg.resume = cfg.load_from is not None
        if not cfg.resume:
            print_log(f'--resume: no checkpoint in {cfg.work_dir}, training '
                      'from scratch', logger='current', level=logging.WARNING)
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def read_config(path: str, plain: bool = False) -> Config:
    """The config of ``path``; ``plain``: logged and dumped without yapf."""
    cfg = Config.fromfile(path)
    if not plain:
        return cfg
    # Config.fromfile passes format_python_code on to lazy-import configs
    # only (mmengine 0.10): rebuild with it
    return Config(cfg.to_dict(), cfg_text=cfg.text, filename=cfg.filename,
                  env_variables=cfg.env_variables, format_python_code=False)


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(read_config(args.config, args.plain_config), args)
    if args.init_only:
        save_initial_checkpoint(cfg, osp.join(cfg.work_dir, 'epoch_0.pth'))
        return
    # MSCLR_TUNE_MALLOC=1 keeps freed activations in the process (glibc):
    # fewer page faults per step, see docs/benchmarks.md
    tune_allocator()
    with process_group_session():
        build_runner(cfg).train()


if __name__ == '__main__':
    main()
