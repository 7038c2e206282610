"""Convert MSR Action3D real_world_coordinates files into a skeleton store.

Example:
    python tools/data/msr3d_to_store.py \
        --data-dir ../shared/data/msr_action3d/real_world_coordinates \
        --out data/msr3d [--protocol cvpr12] [--derived kinectv2_25 coco]
Ends with the store check (tools/data/check_store.py); exit status 1 when it
fails.
"""
import argparse
import sys
import time

from tqdm import tqdm

from msclr_plugin.data_prep.common import add_store_args, print_result
from msclr_plugin.data_prep.msr3d import convert_msr3d


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--data-dir', required=True, help='folder of aAA_sSS_eEE_skeleton3D.txt')
    parser.add_argument('--out', required=True, help='output store dir')
    parser.add_argument(
        '--protocol',
        help="'cvpr12' (the 557 sequences of "
        'files_used_in_cvpr12_paper.txt) or a list file')
    parser.add_argument(
        '--derived',
        nargs='*',
        default=[],
        help='further conventions of the same motion through the built-in '
        'joint regressors, e.g. kinectv2_25 coco')
    add_store_args(parser, source=False)
    return parser.parse_args()


def main():
    args = parse_args()
    start = time.time()
    res = convert_msr3d(
        args.data_dir,
        args.out,
        protocol=args.protocol,
        derived=args.derived,
        preprocess=args.preprocess,
        check=not args.no_check,
        progress=lambda it: tqdm(it, desc='MSR files', unit='file'))
    print(f'{res["seen"]} files found')
    return print_result(res, start)


if __name__ == '__main__':
    sys.exit(main())
