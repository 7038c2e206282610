"""Convert Northwestern-UCLA skeleton JSON files into a skeleton store.

Example:
    python tools/data/nw_ucla_to_store.py --data-dir data/NW-UCLA/all_sqe \
        --out data/stores/nw_ucla [--derived coco]
Splits: xview_train (views 1, 2), xview_val (view 3). Ends with the store
check (tools/data/check_store.py); exit status 1 when it fails.
"""
import argparse
import sys
import time
from functools import partial

from tqdm import tqdm

from msclr_plugin.data_prep.common import add_store_args, print_result
from msclr_plugin.data_prep.nw_ucla import convert_nw_ucla


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_store_args(parser, source=False)
    parser.add_argument('--data-dir', required=True,
                        help='folder of aAA_sSS_eEE_vVV.json (all_sqe)')
    parser.add_argument('--out', required=True, help='output store dir')
    parser.add_argument('--derived', nargs='*', default=[],
                        help='further conventions of the same motion through '
                        'the built-in joint regressors, e.g. coco')
    return parser.parse_args(argv)


def main(argv=None):
    args, start = parse_args(argv), time.time()
    res = convert_nw_ucla(args.data_dir, args.out, args.derived, args.preprocess,
                          not args.no_check,
                          partial(tqdm, desc='NW-UCLA files', unit='file'))
    print(f'{res["seen"]} files found')
    return print_result(res, start)


if __name__ == '__main__':
    sys.exit(main())
