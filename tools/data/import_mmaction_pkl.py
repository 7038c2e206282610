"""Import an mmaction2/pyskl skeleton annotation pickle into a store.

Example:
    python tools/data/import_mmaction_pkl.py data/ntu60_3danno.pkl \
        --out data/stores/ntu60_pyskl --layout kinectv2_25
Pickles run code when loaded: import only files you trust.
"""
import argparse
import time

from tqdm import tqdm

from msclr_plugin.data_prep.mmaction_pkl import import_mmaction_pkl


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('pkl', help='annotation pickle')
    parser.add_argument('--out', required=True, help='output store dir')
    parser.add_argument(
        '--layout',
        default='kinectv2_25',
        help='layout of "keypoint" (kinectv2_25, coco, ...)')
    parser.add_argument(
        '--convention', help='name in the store '
        '(default: the layout name)')
    parser.add_argument('--num-person', type=int, default=2)
    parser.add_argument(
        '--with-score',
        action='store_true',
        help='append keypoint_score as a channel (2D)')
    return parser.parse_args()


def main():
    args = parse_args()
    start = time.time()
    res = import_mmaction_pkl(
        args.pkl,
        args.out,
        layout=args.layout,
        convention=args.convention,
        num_person=args.num_person,
        with_score=args.with_score,
        progress=lambda it: tqdm(it, desc='annotations', unit='clip'))
    print(res['skipped'].summary(res['kept']))
    print(f'wrote {res["index"]} in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
