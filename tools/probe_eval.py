"""Every frozen-encoder evaluation of a checkpoint from one feature extraction.

With a linear-evaluation config (its ``train_dataloader``: the labelled
training clips; its ``test_dataloader``: the test clips, ``mode`` = the
reference convention; its ``cls_head``, ``optim_wrapper``,
``param_scheduler`` and ``train_cfg.max_epochs``: the probe) and a checkpoint
holding ``backbone.*`` (a pretraining checkpoint, or the random-encoder
control of ``tools/train.py --init-only``):

1. pools the frozen encoder's features of every training and test clip in
   every convention the encoder knows, once (evaluation pipelines carry no
   augmentation, so the features are the same every epoch);
2. kNN top-1 (``msclr_plugin.evaluation.knn``): bank = the training clips in
   the reference convention, queries = the test clips in it;
3. the linear probe: the config's head trained on the cached features with
   the config's optimizer, schedule, epochs and batch size, tested as
   ``tools/test.py`` tests the probe: ``linear`` (reference clips), with
   several conventions ``ensemble`` (softmax averaged over a clip's
   conventions) and ``transfer_to_<conv>`` (reference classifier on the
   clips of another convention);
4. cross-convention retrieval, every ordered pair of conventions ``A->B``:
   the rank of each test clip's B rendering among all test clips in B, for
   its A rendering as the query (top-1, top-5, median rank); with
   ``--repeat-takes REGEX`` also without a clip's repeated takes in its
   gallery (``retrieval_without_repeats``: clips whose names are the same
   once REGEX's match is removed, e.g. ``'_\\d+$'`` for Bandai's
   ``walk_normal_001 .. _003``, are takes of one performance, near
   duplicates that no encoder can be asked to tell apart);
5. invariance: the convention-identity probe (a logistic regression that
   predicts the convention of a test clip's feature, trained on the
   training clips; chance 1/S), convention mixing (among a test clip's 20
   nearest features of every convention, the fraction from another
   convention over its chance value: 1 mixed, 0 separated) and the mean
   cosine of a clip's renderings (same clip, other convention) against
   other clips (same convention).

``--centre-conventions`` (or a config's ``centre_per_convention=True``)
subtracts each convention's mean feature over the training clips from its
features before every test but the linear convention probe: what a
per-convention offset alone tells apart removed from kNN, the probe,
transfer, retrieval, the mixing and the cosines. The convention probe keeps
the features as they come (centred, it would be at chance by construction).

With ``--raw-joints`` (no checkpoint) the features are the evaluation
pipeline's output itself, no encoder: each clip's resampled, centred
coordinates for kNN and the linear probe (of the reference convention), and
the joints the conventions share by name (``msclr_plugin.skeletons.
shared_joints``) for retrieval and the invariance tests: what the input
alone gives. ``--pool time`` (or ``none``) treats the encoder's feature map
before pooling over joints (and time) the same way: where the pooled
feature loses what the map holds.

Prints a summary, writes everything to ``--out`` (JSON) and, with
``--dump-dir``, each test's predictions in ``tools/test.py --dump``'s format.

Examples:
    python tools/probe_eval.py configs/msclr/demo/linear_ms_aimclr_synthetic.py \\
        work_dirs/ms/epoch_6.pth --out probe.json
    python tools/probe_eval.py configs/msclr/demo/linear_ms_aimclr_synthetic.py \\
        --raw-joints --out raw.json
"""
import argparse
import json
import os
import os.path as osp
import pickle
import re
import time

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed
import torch

import msclr_plugin  # noqa: F401  (stack fixes + registration, first)
from mmaction.registry import DATASETS, MODELS
from msclr_plugin.evaluation.accuracy import accuracy_report
from msclr_plugin.evaluation.invariance import (centre_per_convention, convention_mixing,
                                                convention_probe, extract_convention_inputs,
                                                flat, pair_cosines, shared_joint_features)
from msclr_plugin.evaluation.knn import POOLS, knn_classify, retrieval_report
from msclr_plugin.evaluation.precise_bn import (MODES as PRECISE_BN_MODES,
                                                recalibrate_bn_per_convention)
from msclr_plugin.evaluation.probe import (check_aligned, extract_convention_features,
                                           probe_scores, train_probe_head)
from msclr_plugin.models.recognizers.ms_recognizer_gcn import load_pretrained_backbone
from msclr_plugin.skeletons import shared_joints
from msclr_plugin.utils.cli import add_cfg_options
from msclr_plugin.utils.launch import set_threads


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='linear-evaluation config')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint with backbone.* '
                        '(pretraining or tools/train.py --init-only); none with '
                        '--raw-joints')
    for flag, text in (
            ('--raw-joints', "the control with no encoder: the pipeline's coordinates "
             'as the features'),
            ('--centre-conventions', "subtract each convention's mean over the training "
             'clips from its features before every evaluation (as a linear config with '
             'centre_per_convention=True)')):
        parser.add_argument(flag, action='store_true', help=text)
    parser.add_argument(
        '--recalibrate-bn', nargs='?', const='train', choices=PRECISE_BN_MODES,
        help="re-estimate the encoder's BatchNorm statistics per convention on the "
        "training clips before extracting features: 'train' (the default; batch "
        "statistics in training mode, averaged) or 'sequential' (one BN at a time in "
        'evaluation mode, exact); as a linear config with precise_bn_per_convention '
        "= True or 'sequential'")
    parser.add_argument(
        '--pool', choices=POOLS, default='all',
        help="the encoder's features pooled over time, persons and joints ('all'), "
        "over time and persons only ('time': one feature per joint) or persons only "
        "('none'); per-joint features are probed as the raw joints are")
    parser.add_argument('--out', help='JSON file for every number')
    parser.add_argument('--seed', type=int, default=0,
                        help="seed of the probe head's initialisation and shuffling")
    parser.add_argument('--reference', help='reference convention (default: the '
                        "test_dataloader's mode)")
    parser.add_argument(
        '--repeat-takes', metavar='REGEX',
        help="test clips whose names are equal once REGEX's match is removed are "
        "repeated takes of one performance: retrieval is also reported with a clip's "
        "other takes left out of its gallery (e.g. '_\\d+$')")
    parser.add_argument('--k', type=int, default=20, help='kNN neighbours')
    parser.add_argument('--temperature', type=float, default=0.07,
                        help='kNN vote temperature')
    parser.add_argument('--device', default='cpu', help='e.g. cpu or cuda:0')
    parser.add_argument(
        '--dump-dir', help="write each probe test's predictions as <test>_scores.pkl "
        "here (tools/test.py --dump's format: tools/ensemble.py, confusion_matrix.py)")
    add_cfg_options(parser)
    args = parser.parse_args(argv)
    if (args.checkpoint is None) != args.raw_joints:
        parser.error('give a checkpoint, or --raw-joints without one')
    if args.raw_joints and (args.recalibrate_bn or args.pool != 'all'):
        parser.error('--recalibrate-bn and --pool need an encoder, not --raw-joints')
    return args


def precise_bn_mode(cfg, path):
    """The precise BN of a linear config's ``precise_bn_per_convention``:
    None (absent or False), ``'train'`` (True) or the mode it names."""
    value = cfg.get('precise_bn_per_convention')
    if value is None or value is False:
        return None
    mode = 'train' if value is True else value
    if mode not in PRECISE_BN_MODES:
        raise SystemExit(f'error: {path}: precise_bn_per_convention={value!r}; expected '
                         f"True, False or one of {PRECISE_BN_MODES}")
    return mode


def encoder_features(cfg, args, tag):
    """The frozen encoder's features of the training and test clips in
    every convention it knows (pooled, or its maps with ``--pool`` other
    than ``all``) and its probe head."""
    model = MODELS.build(cfg.model)
    model.cls_head.init_weights()
    load_pretrained_backbone(model, args.checkpoint)
    model.to(args.device)
    conventions = list(model.backbone.names)
    if args.precise_bn:
        recalibrate_bn_per_convention(
            model, cfg.train_dataloader, conventions, mode=args.precise_bn,
            progress=f'{tag} precise BN ({args.precise_bn}), training clips,')
    train, test = (extract_convention_features(
        model, loader, conventions, progress=f'{tag} features, {what} clips,', pool=args.pool)
        for loader, what in ((cfg.train_dataloader, 'training'), (cfg.test_dataloader, 'test')))
    return train, test, model.cls_head


def raw_features(cfg, args, tag):
    """:func:`encoder_features` of the raw-joints control: the pipeline's
    coordinates, no head (:func:`by_joints` builds one)."""
    conventions = list(cfg.test_dataloader.dataset.conventions)
    print(f'{tag} raw joints of {conventions}, training and test clips', flush=True)
    train, test = (extract_convention_inputs(loader, conventions)
                   for loader in (cfg.train_dataloader, cfg.test_dataloader))
    return train, test, None


def invariance_features(train, test, per_joint):
    """The features of the invariance tests: the pooled ones, or of
    per-joint ones the joints every convention shares by name (None
    without one convention more or a shared joint)."""
    conventions = list(test)
    if not per_joint:
        return train, test
    if len(conventions) > 1 and shared_joints(conventions)[0]:
        return shared_joint_features(train), shared_joint_features(test)
    return None, None


def pooled(train, test, head):
    """Pooled features as every test takes them: ``(train, test,
    inv_train, inv_test, head, pairs)``, the retrieval features of every
    ordered convention pair in ``pairs``."""
    pairs = {(a, b): (test[a][0], test[b][0]) for a in test for b in test if a != b}
    return train, test, train, test, head, pairs


def by_joints(train_in, test_in, cfg, args):
    """:func:`pooled` of per-joint features (coordinates or unpooled maps,
    joints on the second last axis), whose size differs between
    conventions: flattened for kNN and the probe (the config's head on
    them, reference convention only), the joints shared by name for
    retrieval and the invariance tests."""
    conventions = list(test_in)
    pairs = {}
    for a in conventions:
        for b in conventions:
            rows = shared_joints([a, b])
            if a != b and rows[0]:
                fa, fb = flat({a: test_in[a], b: test_in[b]}, dict(zip((a, b), rows))).values()
                pairs[(a, b)] = (fa[0], fb[0])
    train, test = flat(train_in), flat(test_in)
    reference = args.reference or cfg.test_dataloader.dataset.get('mode')
    dim = train[reference][0].shape[1]
    head = MODELS.build(dict(cfg.model.cls_head, in_channels=dim, skeletons=[reference]))
    head.init_weights()
    return (train, test, *invariance_features(train_in, test_in, True), head, pairs)


def repeat_groups(dataset_cfg, pattern: str) -> torch.Tensor:
    """Group id of every clip of a dataset, in its order: clips whose names
    are equal once ``pattern``'s match is removed share one."""
    try:
        regex = re.compile(pattern)
    except re.error as error:
        raise SystemExit(f'error: --repeat-takes {pattern!r} is not a regular '
                         f'expression: {error}')
    names = DATASETS.build(dataset_cfg).clip_names
    keys = [regex.sub('', name) for name in names]
    ids = {key: i for i, key in enumerate(dict.fromkeys(keys))}
    if len(ids) == len(keys):
        raise SystemExit(f'error: --repeat-takes {pattern!r} groups none of the '
                         f'{len(keys)} test clips (e.g. {names[0]!r})')
    return torch.tensor([ids[key] for key in keys])


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    for key in ('train_dataloader', 'test_dataloader', 'optim_wrapper'):
        if cfg.get(key) is None:
            raise SystemExit(f'error: {args.config} has no {key}')
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    args.centre_conventions = args.centre_conventions or bool(cfg.get('centre_per_convention'))
    set_threads(cfg)
    set_random_seed(args.seed)
    tag = '[probe_eval]'
    reference = args.reference or cfg.test_dataloader.dataset.get('mode')
    args.precise_bn = None if args.raw_joints else (
        args.recalibrate_bn or precise_bn_mode(cfg, args.config))
    train, test, head = (raw_features if args.raw_joints else encoder_features)(cfg, args, tag)
    per_joint = args.raw_joints or args.pool != 'all'
    uncentred = None
    if args.centre_conventions:
        # the linear convention probe reads the features as they come:
        # centred, it would be at chance by construction
        uncentred = invariance_features(train, test, per_joint)
        train, test = centre_per_convention(train, test)
    train, test, inv_train, inv_test, head, pairs = (
        by_joints(train, test, cfg, args) if per_joint else pooled(train, test, head))
    probe_train, probe_test = uncentred or (inv_train, inv_test)
    conventions = list(test)
    if reference not in conventions:
        raise SystemExit(f'error: reference convention {reference!r} is not one of '
                         f"the encoder's {conventions} (give --reference)")
    check_aligned(test, args.config)
    result = dict(config=args.config, checkpoint=args.checkpoint or 'raw joints',
                  pool=args.pool, seed=args.seed, reference=reference, conventions=conventions,
                  centred=args.centre_conventions, precise_bn=args.precise_bn,
                  num_train=len(train[reference][1]), num_test=len(test[reference][1]))
    _, top1 = knn_classify(train[reference][0], train[reference][1],
                           test[reference][0], k=args.k,
                           temperature=args.temperature,
                           test_labels=test[reference][1])
    result['knn'] = dict(top1=top1, k=args.k, temperature=args.temperature)
    epochs = cfg.train_cfg.max_epochs
    print(f'{tag} linear probe on cached features: {epochs} epochs', flush=True)
    # per-joint features of two conventions differ in size: the reference's probe only
    probed = train if args.pool == 'all' and not args.raw_joints else {
        reference: train[reference]}
    head = train_probe_head(
        head, {c: (f.to(args.device), y.to(args.device)) for c, (f, y) in probed.items()},
        epochs, cfg.train_dataloader.batch_size, cfg.optim_wrapper,
        cfg.get('param_scheduler') or [], seed=args.seed).cpu()
    scores = probe_scores(head, {c: test[c] for c in probed}, reference)
    labels = test[reference][1]
    result.update({name: accuracy_report(s.numpy(), labels.numpy())
                   for name, s in scores.items()})
    if args.dump_dir:
        os.makedirs(args.dump_dir, exist_ok=True)
        for name, s in scores.items():
            with open(osp.join(args.dump_dir, f'{name}_scores.pkl'), 'wb') as f:
                # pred_raw_score: the head's score before the softmax, as
                # tools/test.py dumps it (stream fusion on raw scores)
                pickle.dump([dict(pred_score=p, pred_raw_score=r, gt_label=y.reshape(1))
                             for p, r, y in zip(s.softmax(1), s, labels)], f)
    result['retrieval'] = {f'{a}->{b}': retrieval_report(qa, gb)
                           for (a, b), (qa, gb) in pairs.items()}
    if args.repeat_takes:
        groups = repeat_groups(cfg.test_dataloader.dataset, args.repeat_takes)
        result['retrieval_without_repeats'] = {
            f'{a}->{b}': retrieval_report(qa, gb, groups=groups)
            for (a, b), (qa, gb) in pairs.items()}
    if len(conventions) > 1 and inv_test is not None:
        result['convention_probe'] = convention_probe(probe_train, probe_test)
        result['convention_mixing'] = convention_mixing(inv_test)
        result['cosines'] = pair_cosines(inv_test)
    result['seconds'] = round(time.time() - start, 1)
    print('\n'.join(summary(result, tag)), flush=True)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
    return result


def summary(result: dict, tag: str) -> list:
    """The printed lines of a result."""
    pooled = '' if result['pool'] == 'all' else f' (pool {result["pool"]})'
    lines = [f'{tag} {osp.basename(result["checkpoint"])}{pooled}: kNN top-1 '
             f'{100 * result["knn"]["top1"]:.1f}']
    for key, report in result.items():
        if key in ('linear', 'ensemble') or key.startswith('transfer_to_'):
            lines.append(f'{tag} {key} top-1 {100 * report["top1"]:.1f}, '
                         f'top-5 {100 * report["top5"]:.1f}')
    for pair, report in result['retrieval'].items():
        lines.append(f'{tag} retrieval {pair}: top-1 {100 * report["top1"]:.1f}, '
                     f'top-5 {100 * report["top5"]:.1f}, median rank '
                     f'{report["median_rank"]:.0f} of {report["num_items"]}')
    for pair, report in result.get('retrieval_without_repeats', {}).items():
        lines.append(f'{tag} retrieval {pair}, repeated takes left out: top-1 '
                     f'{100 * report["top1"]:.1f}, median rank {report["median_rank"]:.0f} '
                     f'of {report["mean_gallery"]:.1f} on average')
    if 'convention_probe' in result:
        probe, cos = result['convention_probe'], result['cosines']
        lines.append(f'{tag} convention probe top-1 {100 * probe["top1"]:.1f} '
                     f'(chance {100 * probe["chance"]:.1f}); convention mixing '
                     f'{result["convention_mixing"]["score"]:.3f} (1 mixed, 0 apart); '
                     f'mean cosine: same clip / '
                     f'other convention {cos["same_clip_other_conv"]:.3f}, other clip / '
                     f'same convention {cos["other_clip_same_conv"]:.3f}')
    return lines


if __name__ == '__main__':
    main()
