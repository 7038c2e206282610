"""Confusion matrix and per-class accuracy of a score dump.

Reads a ``tools/test.py --dump`` pickle (or several, fused with
``--weights``/``--scores`` as tools/ensemble.py does) and writes
``<out>.png`` (row-normalised confusion matrix) and ``<out>.json``
(per-class accuracy and support).

Example:
    python tools/analysis/confusion_matrix.py scores.pkl --out cm \
        --classes data/ntu60_classes.txt
"""
import argparse
import json
import sys

import numpy as np

from msclr_plugin.evaluation.accuracy import (accuracy_report,
                                              confusion_matrix,
                                              per_class_accuracy)
from msclr_plugin.evaluation.fusion import SCORE_KEYS, fuse_dumps
from msclr_plugin.evaluation.metrics.ms_acc_metric import save_confusion_matrix


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('dumps', nargs='+', help='score dump pickle(s)')
    parser.add_argument('--out', required=True, help='output path stem')
    parser.add_argument(
        '--classes', help='text file with one class name per line')
    parser.add_argument('--weights', type=float, nargs='+')
    parser.add_argument(
        '--scores', choices=sorted(SCORE_KEYS), default='raw',
        help='fuse raw scores (default) or probabilities')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        fused = fuse_dumps(args.dumps, args.weights, args.scores)
    except (ValueError, KeyError, FileNotFoundError) as err:
        sys.exit(f'error: {err}')
    scores, labels = fused['fused'], fused['labels']
    num_classes = scores.shape[1]
    names = [str(i) for i in range(num_classes)]
    if args.classes:
        with open(args.classes) as f:
            names = [line.strip() for line in f if line.strip()]
        if len(names) != num_classes:
            sys.exit(f'error: {args.classes} lists {len(names)} classes, the '
                     f'scores have {num_classes}')
    matrix = confusion_matrix(scores.argmax(1), labels, num_classes)
    save_confusion_matrix(matrix, args.out + '.png', names)
    accs = per_class_accuracy(scores, labels, num_classes)
    report = accuracy_report(scores, labels)
    report['per_class'] = [
        dict(name=n, accuracy=None if np.isnan(a) else float(a), support=int(s))
        for n, a, s in zip(names, accs, matrix.sum(1))
    ]
    with open(args.out + '.json', 'w') as f:
        json.dump(report, f, indent=1)
    print(f'top1 {100 * report["top1"]:.2f}, mean class accuracy '
          f'{100 * report["mean_class_accuracy"]:.2f}; wrote {args.out}.png '
          f'and {args.out}.json')
    return report


if __name__ == '__main__':
    main()
