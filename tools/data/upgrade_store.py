"""Rewrite a version-1 skeleton store (no clip identity) as version 2, after
checking what its data can show (equal frame counts per clip across
conventions, the store check). Training refuses version-1 stores.

Example:
    python tools/data/upgrade_store.py work/stores/old --out work/stores/old_v2
Exit status 1 when the store is refused (nothing written) or the new store's
check fails.
"""
import argparse
import sys
import time

from tqdm import tqdm

from msclr_plugin.data_prep.common import print_result
from msclr_plugin.data_prep.upgrade import upgrade_store


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('store', help='the version-1 store directory')
    parser.add_argument('--out', required=True, help='the new store directory')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    try:
        res = upgrade_store(args.store, args.out,
                            progress=lambda it: tqdm(it, unit='clip'))
    except ValueError as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    return print_result(res, start)


if __name__ == '__main__':
    sys.exit(main())
