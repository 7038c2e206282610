"""Write the SYNTHETIC multi-convention skeleton store (the default data).

Procedural motions (docs/synthetic_data.md), not recorded data: 12 classes,
subjects split into ``xsub_train`` / ``xsub_val``, each clip rendered into
every asked convention with independent noise.

Example:
    python tools/data/make_synthetic.py --out data/stores/synthetic
Ends with the store check (tools/data/check_store.py); exit status 1 when it
fails.
"""
import argparse
import json
import sys
import time

from msclr_plugin.data_prep.synthetic import CLASSES, generate_synthetic_store
from msclr_plugin.datasets.store_check import check_store


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', required=True, help='output store dir')
    parser.add_argument(
        '--clips-per-class', type=int, default=8, help='clips per class and subject')
    parser.add_argument('--subjects', type=int, default=20)
    parser.add_argument(
        '--train-subjects',
        type=int,
        help='the first N subjects form xsub_train '
        '(default: 70 percent)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--conventions', nargs='+', default=['kinectv2_25', 'smpl_24', 'coco'])
    parser.add_argument(
        '--num-person',
        type=int,
        choices=[1, 2],
        default=2,
        help='2 pads a zero second person, as in NTU')
    parser.add_argument(
        '--classes', nargs='+', choices=CLASSES, help='a subset of the classes')
    parser.add_argument(
        '--no-check', action='store_true', help='skip the store check')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    path = generate_synthetic_store(
        args.out,
        num_clips_per_class_per_subject=args.clips_per_class,
        conventions=args.conventions,
        seed=args.seed,
        num_subjects=args.subjects,
        num_train_subjects=args.train_subjects,
        num_person=args.num_person,
        classes=args.classes)
    with open(path) as f:
        index = json.load(f)
    sizes = {k: len(v) for k, v in index['splits'].items()}
    print(f'SYNTHETIC store {args.out}: {index["num_clips"]} clips, '
          f'{len(index["classes"])} classes, conventions '
          f'{list(index["conventions"])}, splits {sizes}, '
          f'{time.time() - start:.1f} s')
    if args.no_check:
        return 0
    report = check_store(args.out)
    print(report.format())
    return 0 if report.ok else 1


if __name__ == '__main__':
    sys.exit(main())
