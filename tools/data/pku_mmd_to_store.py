"""Convert PKU-MMD Phase I / II skeleton and label files into a skeleton store.

The official split lists come with the dataset (cross-subject.txt,
cross-view.txt; Phase II cross_subject_v2.txt, cross_view_v2.txt): pass each
with --split NAME=FILE. Conventions estimated from the RGB videos (one file
per video, tools/data/video_to_skeletons.py) are cut into the same clips
with --estimated NAME=DIR.

Example:
    python tools/data/pku_mmd_to_store.py --skeletons-dir data/pku_mmd/skeleton \
        --labels-dir data/pku_mmd/label --out data/stores/pku1 \
        --split xsub=data/pku_mmd/cross-subject.txt xview=data/pku_mmd/cross-view.txt
Ends with the store check (tools/data/check_store.py); exit status 1 when it
fails.
"""
import argparse
import sys
import time

from tqdm import tqdm

from msclr_plugin.data_prep.common import add_store_args, print_result
from msclr_plugin.data_prep.pku_mmd import convert_pku_mmd


def pairs(items, what):
    out = {}
    for item in items:
        name, _, value = item.partition('=')
        if not name or not value:
            raise SystemExit(f'{what} takes NAME=PATH, got {item!r}')
        out[name] = value
    return out


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--skeletons-dir', required=True,
                        help='directory of <video>.txt skeleton files')
    parser.add_argument('--labels-dir', required=True,
                        help='directory of <video>.txt label files')
    parser.add_argument('--out', required=True, help='output store dir')
    parser.add_argument('--split', nargs='+', default=[], metavar='NAME=FILE',
                        help='official split lists, e.g. xsub=cross-subject.txt')
    parser.add_argument('--estimated', nargs='+', default=[], metavar='NAME=DIR',
                        help='per-video <video>.npz files holding array NAME '
                        '(layout NAME), cut like the skeletons')
    add_store_args(parser, source=False)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    res = convert_pku_mmd(
        args.skeletons_dir, args.labels_dir, args.out,
        split_files=pairs(args.split, '--split'),
        estimated={n: dict(files_dir=d)
                   for n, d in pairs(args.estimated, '--estimated').items()},
        preprocess=args.preprocess,
        check=not args.no_check,
        progress=lambda it: tqdm(it, desc='videos', unit='video'))
    return print_result(res, start)


if __name__ == '__main__':
    sys.exit(main())
