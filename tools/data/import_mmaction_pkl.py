"""Import an mmaction2/pyskl skeleton annotation pickle into a store.

Example:
    python tools/data/import_mmaction_pkl.py data/ntu60_3danno.pkl \
        --out data/stores/ntu60_pyskl --layout kinectv2_25 --num-classes 60
The pickle is read with a restricted unpickler (numpy arrays and built-in
containers only): a file referring to anything else is refused. Ends with the
store check (tools/data/check_store.py); exit status 1 when it fails.
"""
import argparse
import sys
import time

from tqdm import tqdm

from msclr_plugin.data_prep.common import (add_store_args, print_result, read_lines,
                                           source_args)
from msclr_plugin.data_prep.mmaction_pkl import import_mmaction_pkl


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('pkl', help='annotation pickle')
    parser.add_argument('--out', required=True, help='output store dir')
    parser.add_argument(
        '--layout',
        default='kinectv2_25',
        help='layout of "keypoint": a built-in name (kinectv2_25, coco, ...) '
        'or a layout file (.yaml/.json/.py)')
    parser.add_argument(
        '--convention', help='name in the store '
        '(default: the layout name)')
    parser.add_argument('--num-person', type=int, default=2)
    parser.add_argument(
        '--with-score',
        action='store_true',
        help='append keypoint_score as a channel (2D)')
    parser.add_argument(
        '--classes',
        help='text file of class names, one a line: string labels map '
        'through it, integer labels must index it')
    parser.add_argument(
        '--num-classes', type=int, help='labels outside [0, N) are skipped')
    add_store_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    start = time.time()
    classes = read_lines(args.classes) if args.classes else None
    res = import_mmaction_pkl(
        args.pkl,
        args.out,
        layout=args.layout,
        convention=args.convention,
        num_person=args.num_person,
        with_score=args.with_score,
        classes=classes,
        num_classes=args.num_classes,
        source=source_args(args),
        preprocess=args.preprocess,
        check=not args.no_check,
        progress=lambda it: tqdm(it, desc='annotations', unit='clip'))
    return print_result(res, start)


if __name__ == '__main__':
    sys.exit(main())
