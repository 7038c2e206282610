"""How far the training-mode precise BN leaves each BN from its evaluation inputs.

For a checkpoint and its linear-evaluation config: the per-convention precise
BN in training mode (``mode='train'``, msclr_plugin.evaluation.precise_bn),
then, with the encoder in evaluation mode as the features are extracted,
every BN's input statistics over the training clips against its running ones
(the largest channel offset in running std, the range of variance ratios),
and each convention's pooled training features (mean norm, mean per-dimension
std); then the sequential precise BN and the same again, with each BN's
training-mode statistics against the sequential ones. With the backbone's
output BN, exact statistics leave each convention's pooled training features
at mean zero (docs/results.md, "Sequential precise BN").

Example:
    python tools/analysis/precise_bn_gap.py \\
        work_dirs/BS320/configs/xstyle_active_val/ms_aimclr_linear.py \\
        work_dirs/BS320/seed0/xstyle_active_val/ms_aimclr_pretrain/epoch_29.pth
"""
import argparse
import json

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

import msclr_plugin  # noqa: F401  (stack fixes + registration, first)
from mmaction.registry import MODELS
from msclr_plugin.evaluation.precise_bn import (bn_input_statistics,
                                                recalibrate_bn_per_convention)
from msclr_plugin.models.recognizers.ms_recognizer_gcn import load_pretrained_backbone
from msclr_plugin.utils.cli import add_cfg_options


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='linear-evaluation config')
    parser.add_argument('checkpoint', help='checkpoint with backbone.*')
    parser.add_argument('--out', help='JSON file for every number')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def gap(mean, var, ref_mean, ref_var):
    """Largest ``|mean - ref_mean|`` in reference std, and the range of
    ``var / ref_var`` (both + BN's epsilon)."""
    ref_std = (ref_var.double() + 1e-5).sqrt()
    ratio = (var.double() + 1e-5) / (ref_var.double() + 1e-5)
    return dict(offset=float(((mean.double() - ref_mean.double()).abs() / ref_std).max()),
                var_ratio=[float(ratio.min()), float(ratio.max())])


def measure(model, loader_cfg, conventions, names):
    """Every BN's evaluation inputs against its running statistics, and the
    pooled training features of each convention."""
    stats, feats = bn_input_statistics(model, loader_cfg, conventions)
    bns = {names[bn]: gap(mean, var, bn.running_mean, bn.running_var)
           for bn, (mean, var) in stats.items()}
    pooled = {conv: dict(mean_norm=float(f.double().mean(0).norm()),
                         std=float(f.double().std(0).mean()))
              for conv, (f, _) in feats.items()}
    return dict(bns=bns, features=pooled)


def summary(tag, result):
    worst = max(result['bns'].items(), key=lambda item: item[1]['offset'])
    ratios = [r for g in result['bns'].values() for r in g['var_ratio']]
    features = ', '.join(f'{conv} mean norm {f["mean_norm"]:.2f} (per-dim std {f["std"]:.2f})'
                         for conv, f in result['features'].items())
    return [f'{tag}: {len(result["bns"])} BNs; evaluation inputs against running '
            f'statistics: offset up to {worst[1]["offset"]:.3f} std ({worst[0]}), variance '
            f'ratio {min(ratios):.2f}-{max(ratios):.2f}',
            f'{tag}: pooled training features: {features}']


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    load_pretrained_backbone(model, args.checkpoint)
    model.eval()
    conventions = list(model.backbone.names)
    recalibrate_bn_per_convention(model, cfg.train_dataloader, conventions, mode='train')
    names = {m: n for n, m in model.backbone.named_modules()}
    bns = [m for m in names if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    train_stats = {bn: (bn.running_mean.clone(), bn.running_var.clone()) for bn in bns}
    result = dict(train=measure(model, cfg.train_dataloader, conventions, names))
    recalibrate_bn_per_convention(model, cfg.train_dataloader, conventions, mode='sequential')
    result['sequential'] = measure(model, cfg.train_dataloader, conventions, names)
    result['train_against_sequential'] = {
        names[bn]: gap(*train_stats[bn], bn.running_mean, bn.running_var) for bn in bns}
    lines = summary('train', result['train']) + summary('sequential', result['sequential'])
    per_bn = result['train_against_sequential'].values()
    ratios = [r for g in per_bn for r in g['var_ratio']]
    lines.append(f'training-mode statistics against the sequential ones, per BN: mean offset '
                 f'up to {max(g["offset"] for g in per_bn):.3f} std, variance ratio '
                 f'{min(ratios):.2f}-{max(ratios):.2f}')
    print('\n'.join(lines))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == '__main__':
    main()
