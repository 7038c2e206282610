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
   its A rendering as the query (top-1, top-5, median rank).

Prints a summary, writes everything to ``--out`` (JSON) and, with
``--dump-dir``, each test's predictions in ``tools/test.py --dump``'s format.

Example:
    python tools/probe_eval.py configs/msclr/demo/linear_ms_aimclr_synthetic.py \\
        work_dirs/ms/epoch_6.pth --out probe.json
"""
import argparse
import json
import os
import os.path as osp
import pickle
import time

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import set_random_seed

import msclr_plugin  # noqa: F401  (stack fixes + registration, first)
from mmaction.registry import MODELS
from msclr_plugin.evaluation.knn import knn_classify, retrieval_report
from msclr_plugin.evaluation.accuracy import accuracy_report
from msclr_plugin.evaluation.precise_bn import recalibrate_bn_per_convention
from msclr_plugin.evaluation.probe import (check_aligned, extract_convention_features,
                                           probe_scores, train_probe_head)
from msclr_plugin.models.recognizers.ms_recognizer_gcn import load_pretrained_backbone
from msclr_plugin.utils.cli import add_cfg_options


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config', help='linear-evaluation config')
    parser.add_argument('checkpoint', help='checkpoint with backbone.* (pretraining '
                        'or tools/train.py --init-only)')
    parser.add_argument('--out', help='JSON file for every number')
    parser.add_argument('--seed', type=int, default=0,
                        help="seed of the probe head's initialisation and shuffling")
    parser.add_argument('--reference', help='reference convention (default: the '
                        "test_dataloader's mode)")
    parser.add_argument('--k', type=int, default=20, help='kNN neighbours')
    parser.add_argument('--temperature', type=float, default=0.07,
                        help='kNN vote temperature')
    parser.add_argument('--device', default='cpu', help='e.g. cpu or cuda:0')
    parser.add_argument(
        '--dump-dir', help="write each probe test's predictions as <test>_scores.pkl "
        "here (tools/test.py --dump's format: tools/ensemble.py, confusion_matrix.py)")
    add_cfg_options(parser)
    return parser.parse_args(argv)


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
    set_random_seed(args.seed)
    model = MODELS.build(cfg.model)
    model.cls_head.init_weights()
    load_pretrained_backbone(model, args.checkpoint)
    model.to(args.device)
    reference = args.reference or cfg.test_dataloader.dataset.get('mode')
    conventions = list(model.backbone.names)
    if reference not in conventions:
        raise SystemExit(f'error: reference convention {reference!r} is not one of '
                         f"the encoder's {conventions} (give --reference)")
    tag = '[probe_eval]'
    if cfg.get('precise_bn_per_convention'):
        recalibrate_bn_per_convention(model, cfg.train_dataloader, conventions,
                                      progress=f'{tag} precise BN, training clips,')
    train = extract_convention_features(model, cfg.train_dataloader, conventions,
                                        progress=f'{tag} features, training clips,')
    test = extract_convention_features(model, cfg.test_dataloader, conventions,
                                       progress=f'{tag} features, test clips,')
    check_aligned(test, args.config)
    result = dict(config=args.config, checkpoint=args.checkpoint, seed=args.seed,
                  reference=reference, conventions=conventions,
                  num_train=len(train[reference][1]), num_test=len(test[reference][1]))
    _, top1 = knn_classify(train[reference][0], train[reference][1],
                           test[reference][0], k=args.k,
                           temperature=args.temperature,
                           test_labels=test[reference][1])
    result['knn'] = dict(top1=top1, k=args.k, temperature=args.temperature)
    epochs = cfg.train_cfg.max_epochs
    print(f'{tag} linear probe on cached features: {epochs} epochs', flush=True)
    head = train_probe_head(
        model.cls_head, {c: (f.to(args.device), y.to(args.device))
                         for c, (f, y) in train.items()},
        epochs, cfg.train_dataloader.batch_size, cfg.optim_wrapper,
        cfg.get('param_scheduler') or [], seed=args.seed).cpu()
    scores = probe_scores(head, test, reference)
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
    result['retrieval'] = {
        f'{a}->{b}': retrieval_report(test[a][0], test[b][0])
        for a in conventions for b in conventions if a != b
    }
    result['seconds'] = round(time.time() - start, 1)
    lines = [f'{tag} {osp.basename(args.checkpoint)}: kNN top-1 {100 * top1:.1f}']
    for key, report in result.items():
        if key in ('linear', 'ensemble') or key.startswith('transfer_to_'):
            lines.append(f'{tag} {key} top-1 {100 * report["top1"]:.1f}, '
                         f'top-5 {100 * report["top5"]:.1f}')
    for pair, report in result['retrieval'].items():
        lines.append(f'{tag} retrieval {pair}: top-1 {100 * report["top1"]:.1f}, '
                     f'top-5 {100 * report["top5"]:.1f}, median rank '
                     f'{report["median_rank"]:.0f} of {report["num_items"]}')
    print('\n'.join(lines), flush=True)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(result, f, indent=1)
    return result


if __name__ == '__main__':
    main()
