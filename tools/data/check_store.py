"""Check a skeleton store: schema, offsets and clip identity, labels within
num_classes, disjoint splits, every clip (finite, non-empty, not all zeros)
and, per pair of conventions, whether they are in one body frame (centre,
up direction, left-right axis, scale, facing; median over clips and the
worst clips by name). Prints a report; exit status 1 when a check fails.

Example:
    python tools/data/check_store.py work/stores/ntu_sample_mp
"""
import argparse
import sys

from tqdm import tqdm

from msclr_plugin.datasets.store_check import THRESHOLDS, check_store


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('store', help='store directory')
    parser.add_argument('--conventions', nargs='+', help='check only these')
    for key, flag, what in (
            ('up', '--min-up', 'least median cosine of the pelvis->neck directions'),
            ('lr', '--min-lr', 'least median cosine of the shoulder lines'),
            ('centre', '--max-centre',
             'largest median distance of the pelvis and neck roles (m)')):
        parser.add_argument(flag, type=float, default=THRESHOLDS[key], help=what)
    parser.add_argument(
        '--torso-ratio',
        type=float,
        nargs=2,
        default=THRESHOLDS['torso'],
        help='allowed range of the median torso length ratio')
    parser.add_argument('--worst', type=int, default=3, help='worst clips listed')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    report = check_store(
        args.store,
        conventions=args.conventions,
        thresholds=dict(
            up=args.min_up,
            lr=args.min_lr,
            centre=args.max_centre,
            torso=tuple(args.torso_ratio)),
        max_worst=args.worst,
        progress=lambda it: tqdm(it, desc='clips', unit='clip'))
    print(report.format())
    return 0 if report.ok else 1


if __name__ == '__main__':
    sys.exit(main())
