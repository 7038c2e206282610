"""Test (evaluate) a checkpoint with a config, mmaction2 1.x style.

``--dump scores.pkl`` adds mmengine's ``DumpResults`` metric, which writes
every sample's prediction (scores, labels) for offline evaluation and
``tools/ensemble.py``. msclr_plugin is imported first, so its checkpoint
loader (``weights_only=True``), strict loading and components are in place:
a checkpoint that does not fit the config's model exits non-zero naming the
missing, unexpected and shape-mismatched keys.

Examples:
    python tools/test.py <linear-eval config> work_dirs/x/best.pth --dump scores.pkl
    bash tools/dist_test.sh <config> <checkpoint> 8 --dump scores.pkl
"""
import argparse

from mmengine.config import Config

import msclr_plugin  # noqa: F401  (stack fixes + registration, first)
from msclr_plugin.utils.checkpoint import CheckpointError
from msclr_plugin.utils.cli import add_launcher_args, parse_launcher_args
from msclr_plugin.utils.launch import (build_runner, process_group_session,
                                       work_dir_of)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test with msclr_plugin')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='directory for the metrics and logs')
    parser.add_argument(
        '--dump',
        type=str,
        help='dump the predictions to this pickle file (.pkl / .pickle)')
    add_launcher_args(parser)
    return parse_launcher_args(parser, argv)


def merge_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Apply the command-line options to the config."""
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = work_dir_of(cfg, args.config, args.work_dir)
    cfg.load_from = args.checkpoint
    if args.dump is not None:
        if not args.dump.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--dump must name a .pkl file, got {args.dump}')
        dump = dict(type='DumpResults', out_file_path=args.dump)
        evaluator = cfg.get('test_evaluator', None)
        if evaluator is None:
            cfg.test_evaluator = [dump]
        elif isinstance(evaluator, (list, tuple)):
            cfg.test_evaluator = list(evaluator) + [dump]
        else:
            cfg.test_evaluator = [evaluator, dump]
    return cfg


def main(argv=None):
    args = parse_args(argv)
    cfg = merge_args(Config.fromfile(args.config), args)
    with process_group_session():
        runner = build_runner(cfg)
        try:
            runner.test()
        except CheckpointError as err:  # strict loading: the keys that differ
            raise SystemExit(f'error: {err}')


if __name__ == '__main__':
    main()
