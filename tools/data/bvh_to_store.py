"""Convert the Bandai Namco Motion Dataset 2 BVH files into a store with the
native skeleton plus regressed SMPL-24, Kinect v2 and COCO conventions.

Example:
    python tools/data/bvh_to_store.py \
        --root ../shared/data/bandai_namco_motion2_subset --out data/bandai
Ends with the store check (tools/data/check_store.py); exit status 1 when it
fails.
"""
import argparse
import sys
import time

from tqdm import tqdm

from msclr_plugin.data_prep.bvh import DERIVED, convert_bandai
from msclr_plugin.data_prep.common import add_store_args, print_result


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--root', required=True, help='dataset folder with data/ and cfg/')
    parser.add_argument('--out', required=True, help='output store dir')
    parser.add_argument(
        '--derived',
        nargs='*',
        default=list(DERIVED),
        help='conventions regressed from bandai_bvh_22')
    parser.add_argument('--max-files', type=int)
    add_store_args(parser, source=False)
    return parser.parse_args()


def main():
    args = parse_args()
    start = time.time()
    res = convert_bandai(
        args.root,
        args.out,
        derived=args.derived,
        max_files=args.max_files,
        preprocess=args.preprocess,
        check=not args.no_check,
        progress=lambda it: tqdm(it, desc='BVH files', unit='file'))
    return print_result(res, start)


if __name__ == '__main__':
    sys.exit(main())
