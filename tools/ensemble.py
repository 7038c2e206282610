"""Fuse the score dumps of several streams (joint / bone / motion ...).

Each input is a pickle written by ``tools/test.py <config> <ckpt> --dump
<file>`` (one dict per test item with ``pred_raw_score``, ``pred_score`` and
``gt_label``). The dumps must cover the same items in the same order
(checked). By default the raw scores are fused, as AimCLR and MS-CLR do
(``pred_raw_score``: a classifier's logits; for a skeleton-specific ensemble
the log of its mean softmax, or its mean logits); ``--scores prob`` fuses
the probabilities.

A stream given as per-convention dumps joined by ``+`` (each the test of
one convention's classifier) is first combined into the skeleton-specific
ensemble by ``--ensemble-rule``: ``logits`` (default: the mean of the
logits, the authors' code, which produced the published numbers) or
``softmax`` (the mean of the softmax scores, the paper's text).

Examples:
    python tools/ensemble.py joint.pkl bone.pkl motion.pkl      # 0.6/0.6/0.4
    python tools/ensemble.py a.pkl b.pkl --weights 1 1 --scores prob
    python tools/ensemble.py j_kinect.pkl+j_smplx.pkl --ensemble-rule softmax
"""
import argparse
import json
import sys

from msclr_plugin.evaluation.fusion import (DEFAULT_WEIGHTS, ENSEMBLE_RULES,
                                           SCORE_KEYS, fuse_dumps)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('dumps', nargs='+',
                        help='score dump pickles; A.pkl+B.pkl: per-convention '
                        'dumps of one stream, combined by --ensemble-rule')
    parser.add_argument(
        '--weights',
        type=float,
        nargs='+',
        help='one weight per dump (default: 0.6 0.6 0.4 for three dumps, '
        'joint/bone/motion; 1 each otherwise)')
    parser.add_argument(
        '--scores',
        choices=sorted(SCORE_KEYS),
        default='raw',
        help='raw: pred_raw_score (default; the references fuse raw '
        'scores), prob: pred_score (probabilities)')
    parser.add_argument(
        '--ensemble-rule',
        choices=ENSEMBLE_RULES,
        default='logits',
        help="how A.pkl+B.pkl combine: logits (default; the authors' code, "
        "which produced the published numbers) or softmax (the paper's text)")
    parser.add_argument(
        '--topk', type=int, nargs='+', default=[1, 5], help='top-k to report')
    parser.add_argument('--out', help='optional JSON file for the numbers')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    weights = args.weights
    if weights is None and len(args.dumps) == 3:
        weights = list(DEFAULT_WEIGHTS)
    try:
        result = fuse_dumps(args.dumps, weights, args.scores, args.topk,
                            args.ensemble_rule)
    except (ValueError, KeyError, FileNotFoundError) as err:
        sys.exit(f'error: {err}')
    lines = []
    for path, report in zip(args.dumps, result['streams']):
        lines.append(f'{path}: ' + ', '.join(
            f'{k} {100 * v:.2f}' for k, v in report.items()))
    views = any('+' in path for path in args.dumps)
    lines.append(f'fused (weights {weights or "1 each"}, '
                 f'{SCORE_KEYS[args.scores]}' +
                 (f', ensemble rule {args.ensemble_rule}' if views else '') +
                 '): ' +
                 ', '.join(f'{k} {100 * v:.2f}'
                           for k, v in result['report'].items()))
    print('\n'.join(lines))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(
                dict(
                    dumps=args.dumps,
                    weights=weights,
                    scores=SCORE_KEYS[args.scores],
                    ensemble_rule=args.ensemble_rule if views else None,
                    streams=result['streams'],
                    fused=result['report']),
                f,
                indent=1)
    return result['report']


if __name__ == '__main__':
    main()
