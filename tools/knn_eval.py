"""kNN top-1 of a checkpoint's frozen encoder.

Features of the config's ``train_dataloader`` items (memory bank) and
``val_dataloader`` items (queries) are extracted with the model's backbone
and classified by a weighted kNN (see msclr_plugin/evaluation/knn.py). Use a
linear-evaluation config (un-augmented, labelled items) with a pretraining
checkpoint: only the encoder (``backbone.*``) is loaded, strictly, and one
log line says what was loaded and left out.

Example:
    python tools/knn_eval.py configs/msclr/<eval config>.py work_dirs/x/epoch_300.pth
"""
import argparse
import json

import torch
from mmengine.config import Config
from mmengine.runner import Runner

import msclr_plugin  # noqa: F401  (stack fixes + registration, first)
from msclr_plugin.evaluation.knn import (extract_features, knn_classify,
                                         load_model, sequential_loader_cfg)
from msclr_plugin.utils.checkpoint import CheckpointError
from msclr_plugin.utils.cli import add_cfg_options


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--k', type=int, default=20, help='neighbours')
    parser.add_argument(
        '--temperature', type=float, default=0.07, help='vote temperature')
    parser.add_argument('--view', help='embed only this view of every item')
    parser.add_argument(
        '--train-key',
        default='train_dataloader',
        help='config key of the memory-bank dataloader')
    parser.add_argument(
        '--val-key', default='val_dataloader', help='config key of the queries')
    parser.add_argument('--device', default='cpu', help='e.g. cpu or cuda:0')
    parser.add_argument('--out', help='optional JSON file for the result')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    for key in (args.train_key, args.val_key):
        if cfg.get(key) is None:
            raise SystemExit(f'error: {args.config} has no {key}')
    try:
        model = load_model(cfg, args.checkpoint, args.device)
    except CheckpointError as err:
        raise SystemExit(f'error: {err}')
    loaders = [
        # every bank item exactly once
        Runner.build_dataloader(sequential_loader_cfg(cfg[args.train_key])),
        Runner.build_dataloader(cfg[args.val_key])
    ]
    (train_feats, train_labels), (val_feats, val_labels) = [
        extract_features(model, loader, args.view) for loader in loaders
    ]
    _, top1 = knn_classify(
        train_feats,
        train_labels,
        val_feats,
        k=args.k,
        temperature=args.temperature,
        test_labels=val_labels)
    print(f'kNN (k={args.k}, T={args.temperature}) on '
          f'{len(train_labels)} bank / {len(val_labels)} query items: '
          f'top-1 {100 * top1:.2f}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(
                dict(
                    config=args.config,
                    checkpoint=args.checkpoint,
                    k=args.k,
                    temperature=args.temperature,
                    top1=top1,
                    num_bank=len(train_labels),
                    num_query=len(val_labels)),
                f,
                indent=1)
    return top1


if __name__ == '__main__':
    with torch.no_grad():
        main()
