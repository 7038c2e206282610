"""Convert any skeleton recordings (per-clip arrays or per-frame text rows) in
a declared layout into a skeleton store, from a table of clips.

Examples (docs/data_preparation.md, "Any dataset"):
    # per-frame rows "frame x1 y1 z1 ... x20 y20 z20", clips cut by frame ranges
    python tools/data/arrays_to_store.py --data-dir raw/joints \
        --table raw/clips.csv --layout my_layouts/kinect_v1_20.yaml \
        --pattern 'joints_{file}.txt' --columns 'frame VC' \
        --train-subjects 1 3 5 7 9 --derived coco --out data/stores/mydata
    # the clips from one interval file per recording ("walk 252 390" lines)
    python tools/data/arrays_to_store.py --data-dir raw/joints \
        --intervals 'raw/labels/s{subject}_e{take}.txt' \
        --pattern 'joints_s{subject}_e{take}.txt' --columns 'frame VC' \
        --layout my_layouts/kinect_v1_20.yaml --out data/stores/mydata
    # one (T, V, C) array per clip, millimetres
    python tools/data/arrays_to_store.py --data-dir raw/npy --table clips.json \
        --layout kinectv2_25 --axes TVC --scale 0.001 --out data/stores/mine
Ends with the store check (tools/data/check_store.py); exit status 1 when it
fails.
"""
import argparse
import sys
import time

from tqdm import tqdm

from msclr_plugin.data_prep.arrays import convert_arrays
from msclr_plugin.data_prep.common import add_store_args, print_result, read_lines
from msclr_plugin.data_prep.intervals import add_interval_args, table_from_args


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('--data-dir', required=True,
                        help='folder of the recordings')
    parser.add_argument(
        '--table',
        help='.csv (header line) or .json table of clips: clip, label '
        '(required), file, subject, split (names separated by ";"), '
        'start, end (a frame range, inclusive); or --intervals')
    add_interval_args(parser)
    parser.add_argument('--out', required=True, help='output store dir')
    parser.add_argument(
        '--layout', required=True,
        help='layout of the data: a built-in name or a layout file '
        '(.py/.json/.yaml)')
    parser.add_argument(
        '--pattern',
        help='file of a clip, formatted with its table fields (default: '
        '"{file}" when the table has a file field, else "{clip}.npy")')
    parser.add_argument(
        '--axes', default='TVC',
        help='axis order of arrays over T, V, C and optionally M; in text '
        'files a space separates the axes along the lines from those along '
        'a line ("TV C": a line per joint and frame). Default: TVC')
    parser.add_argument(
        '--columns',
        help='column layout of per-frame text rows: "frame" (frame number), '
        '"_" (ignored) and one block of V, C (and M) letters, e.g. "frame VC"')
    parser.add_argument('--key', help='array name in .npz files')
    parser.add_argument('--delimiter',
                        help='of text files (default: whitespace)')
    parser.add_argument(
        '--num-person', type=int,
        help='persons per clip (padded / cut); default: as read')
    parser.add_argument('--channels', type=int,
                        help='keep the first N channels (3 drops a confidence)')
    parser.add_argument(
        '--derived', nargs='*', default=[],
        help='further conventions of the same motion through joint '
        'regressors (built-in chains and joint names), e.g. coco smpl_24')
    parser.add_argument('--classes',
                        help='file of class names, one a line, in label order')
    parser.add_argument(
        '--train-subjects', nargs='+',
        help='subjects of split xsub_train; the others form xsub_val')
    parser.add_argument('--name',
                        help='convention name in the store (default: layout)')
    parser.add_argument(
        '--duplicate-frames', choices=('drop', 'keep', 'error'),
        default='drop',
        help='rows repeating a frame number (with a "frame" column): drop '
        '(default) keeps the first of each, keep stores them all, error '
        'skips the clip; counted either way')
    add_store_args(parser)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    start = time.time()
    classes = read_lines(args.classes) if args.classes else None
    res = convert_arrays(
        args.data_dir,
        table_from_args(args),
        args.out,
        args.layout,
        pattern=args.pattern,
        axes=args.axes,
        columns=args.columns,
        key=args.key,
        delimiter=args.delimiter,
        num_person=args.num_person,
        channels=args.channels,
        scale=args.scale,
        up=args.up,
        mirror=args.mirror,
        preprocess=args.preprocess,
        derived=args.derived,
        classes=classes,
        train_subjects=args.train_subjects,
        name=args.name,
        duplicate_frames=args.duplicate_frames,
        check=not args.no_check,
        progress=lambda it: tqdm(it, desc='clips', unit='clip'))
    print('clips per split: ' + (', '.join(
        f'{s} {n}' for s, n in res['splits'].items()) or 'no splits'))
    repeats = res['repeated_frames']
    if repeats:
        print(f'{sum(repeats.values())} rows in {len(repeats)} clips repeat a '
              f'frame number (--duplicate-frames {args.duplicate_frames})')
    if res['classes']:
        print(f'{len(res["classes"])} classes: {", ".join(res["classes"])}')
    return print_result(res, start)


if __name__ == '__main__':
    sys.exit(main())
