"""Convert NTU RGB+D 60/120 raw ``.skeleton`` files into a skeleton store.

Example:
    python tools/data/ntu_to_store.py --skeletons-dir data/nturgbd_skeletons \
        --out data/stores/ntu60 --benchmark ntu60 --preprocess aimclr
Ends with the store check (tools/data/check_store.py); exit status 1 when it
fails.
"""
import argparse
import sys
import time

from tqdm import tqdm

from msclr_plugin.data_prep.common import add_store_args, print_result
from msclr_plugin.data_prep.ntu import convert_ntu, read_ignore_list


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--skeletons-dir',
        required=True,
        help='directory of SsssCcccPpppRrrrAaaa.skeleton')
    parser.add_argument('--out', required=True, help='output store dir')
    parser.add_argument('--benchmark', choices=['ntu60', 'ntu120'], default='ntu60')
    add_store_args(parser, source=False)
    parser.add_argument('--max-bodies', type=int, default=2)
    parser.add_argument(
        '--ignore-list',
        help='file of clip names to skip '
        '(e.g. NTU samples with missing skeletons)')
    parser.add_argument(
        '--max-clips', type=int, help='convert only the first N clips (testing)')
    return parser.parse_args()


def main():
    args = parse_args()
    start = time.time()
    res = convert_ntu(
        args.skeletons_dir,
        args.out,
        benchmark=args.benchmark,
        preprocess=args.preprocess,
        max_bodies=args.max_bodies,
        ignore=read_ignore_list(args.ignore_list),
        max_clips=args.max_clips,
        check=not args.no_check,
        progress=lambda it: tqdm(it, desc='NTU clips', unit='clip'))
    return print_result(res, start)


if __name__ == '__main__':
    sys.exit(main())
