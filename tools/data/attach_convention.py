"""Write a copy of a store with one more convention read from per-clip
files (.npy / .npz / .pt), e.g. MeTRAbs SMPL-X or MediaPipe outputs.

Example:
    python tools/data/attach_convention.py --store data/stores/ntu60 \
        --files-dir data/metrabs_smplx --out data/stores/ntu60_smplx \
        --name smplx_42 --layout smplx_42 --pattern '{clip}.npy' --scale 0.001
"""
import argparse
import time

from tqdm import tqdm

from msclr_plugin.data_prep.attach import attach_convention


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--store', required=True, help='existing store')
    parser.add_argument('--files-dir', required=True)
    parser.add_argument('--out', required=True, help='new store dir')
    parser.add_argument('--name', required=True, help='new convention name')
    parser.add_argument('--layout', help='its layout (default: --name)')
    parser.add_argument('--pattern', default='{clip}.npy', help='file name with {clip}')
    parser.add_argument('--key', help='array name in .npz / dict .pt')
    parser.add_argument(
        '--scale', type=float, default=1.0, help='0.001 for millimetres -> metres')
    parser.add_argument(
        '--channels', type=int, help='keep the first N channels (3 drops visibility)')
    parser.add_argument(
        '--reference',
        help='convention whose frame count '
        'must match (default: the first)')
    parser.add_argument(
        '--on-mismatch', default='resample', choices=['resample', 'skip', 'error'])
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
        scale=args.scale,
        channels=args.channels,
        reference=args.reference,
        on_mismatch=args.on_mismatch,
        progress=lambda it: tqdm(it, desc='clips', unit='clip'))
    print(res['skipped'].summary(res['kept']))
    if res['resampled']:
        print(f'{len(res["resampled"])} clips resampled to the reference '
              f'frame count: {res["resampled"][:10]}')
    print(f'wrote {res["index"]} in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
