"""Write a copy of a store with one more convention read from per-clip
files (.npy / .npz / .pt), e.g. MeTRAbs SMPL-X or MediaPipe outputs, or
derived from a convention of the store by joint regression (--derive-from).

The files' axis order (--axes), units (--scale) and axes (--up, --mirror)
are stated, not guessed; the new convention is normalised as the store's
reference convention was (recorded in the store) unless --preprocess says
otherwise. Ends with the store check (tools/data/check_store.py), which
compares the conventions' centres, up and left-right axes, scale and
facing; exit status 1 when it fails.

Example (MeTRAbs SMPL-X in camera space: millimetres, y down):
    python tools/data/attach_convention.py --store data/stores/ntu60 \
        --files-dir data/metrabs_smplx --out data/stores/ntu60_smplx \
        --name smplx_42 --layout smplx_42 --pattern '{clip}.npy' --axes TMVC \
        --scale 0.001 --up y-down
Derived (Kinect v2 -> SMPL-X 42 by the joint regressors, docs/skeletons.md):
    python tools/data/attach_convention.py --store data/stores/ntu60 \
        --derive-from kinectv2_25 --name smplx_42 --out data/stores/ntu60_d
"""
import argparse
import sys
import time

from tqdm import tqdm

from msclr_plugin.data_prep.attach import attach_convention
from msclr_plugin.data_prep.common import add_store_args, print_result


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--store', required=True, help='existing store')
    parser.add_argument('--files-dir', help='folder of per-clip files')
    parser.add_argument(
        '--derive-from', help='instead of files: derive the new convention '
        'from this convention of the store (joint regressors)')
    parser.add_argument('--out', required=True, help='new store dir')
    parser.add_argument('--name', required=True, help='new convention name')
    parser.add_argument(
        '--layout', help='its layout, a built-in name or a layout file '
        '(default: --name)')
    parser.add_argument('--pattern', default='{clip}.npy', help='file name with {clip}')
    parser.add_argument('--key', help='array name in .npz / dict .pt')
    parser.add_argument(
        '--axes',
        help='axis order of the arrays: T frames, V joints, C channels, M '
        'persons, e.g. TVC, TMVC (MS-CLR files), MTVC (default: TVC for 3-D '
        'arrays; required for others)')
    parser.add_argument(
        '--channels', type=int, help='keep the first N channels (3 drops visibility)')
    parser.add_argument(
        '--reference',
        help='convention whose frame count '
        'must match (default: the first)')
    parser.add_argument(
        '--on-mismatch', default='resample', choices=['resample', 'skip', 'error'])
    add_store_args(parser, normalize=None)
    return parser.parse_args()


def main():
    args = parse_args()
    start = time.time()
    res = attach_convention(
        args.store,
        args.files_dir,
        args.out,
        args.name,
        args.layout or args.name,
        pattern=args.pattern,
        key=args.key,
        axes=args.axes,
        scale=args.scale,
        up=args.up,
        mirror=args.mirror,
        preprocess=args.preprocess,
        channels=args.channels,
        reference=args.reference,
        on_mismatch=args.on_mismatch,
        derive_from=args.derive_from,
        check=not args.no_check,
        progress=lambda it: tqdm(it, desc='clips', unit='clip'))
    if res['resampled']:
        print(f'{len(res["resampled"])} clips resampled to the reference '
              f'frame count: {res["resampled"][:10]}')
    return print_result(res, start)


if __name__ == '__main__':
    sys.exit(main())
