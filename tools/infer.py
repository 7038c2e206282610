"""Label clips with a trained probe: clips of a store, skeleton array files of
any layout, or videos (MediaPipe), printing the top-k classes with scores.

mmaction2's demo/demo_skeleton.py for this plugin's models. The probe is a
linear-evaluation config and its checkpoint (``tools/train.py <linear
config>`` writes it: encoder + head); class names, conventions and body
normalisation come from the config's test store (or ``--store``). Array
files and videos are made into clips the way the store's clips were made
(msclr_plugin.apis.SkeletonLabeller), through the joint regressors when
their layout is not one of the model's conventions.

Examples:
    # clips of the store, by name, or every clip of a split
    python tools/infer.py configs/msclr/linear/linear_ms_aimclr_msr3d_xsub.py \\
        work_dirs/linear/epoch_100.pth --clips a01_s02_e01 a05_s04_e02
    python tools/infer.py <linear config> <ckpt> --split xsub_val --out val.json
    # one array per clip, any layout (--axes / --columns / --key as
    # tools/data/arrays_to_store.py)
    python tools/infer.py <linear config> <ckpt> clip1.npy clip2.npy \\
        --layout kinectv2_25 --axes TVC --scale 0.001
    # a video through MediaPipe (pip install mediapipe==0.10.21), drawn
    python tools/infer.py <linear config> <ckpt> talk.mp4 --out-video talk_labelled.mp4
"""
import argparse
import json
import os.path as osp
import sys

import msclr_plugin  # noqa: F401  (stack fixes + registration, first)
from msclr_plugin.apis.inference import (VIDEO_EXTENSIONS, SkeletonLabeller,
                                         draw_video)
from msclr_plugin.data_prep.arrays import RecordingReader
from msclr_plugin.utils.cli import add_cfg_options


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('\n\n', 1)[1])
    parser.add_argument('config', help='linear-evaluation config')
    parser.add_argument('checkpoint', help='its checkpoint (encoder + head)')
    parser.add_argument('inputs', nargs='*',
                        help='array files (one clip each) or videos '
                        f'({", ".join(VIDEO_EXTENSIONS)})')
    parser.add_argument('--store', help="store of the class names (default: the "
                        "config's test store)")
    parser.add_argument('--clips', nargs='+', help='clips of the store, by name')
    parser.add_argument('--split', help='every clip of this split of the store')
    parser.add_argument('--topk', type=int, default=5, help='classes shown')
    parser.add_argument('--out', help='JSON file of every prediction')
    parser.add_argument('--device', default='cpu', help='e.g. cpu or cuda:0')
    arrays = parser.add_argument_group('array files')
    arrays.add_argument('--layout', help='their layout: a built-in name or a '
                        'layout file')
    arrays.add_argument('--axes', default='TVC',
                        help='axis order over T, V, C (and M). Default: TVC')
    arrays.add_argument('--columns', help='column layout of per-frame text rows')
    arrays.add_argument('--key', help='array name in .npz files')
    arrays.add_argument('--delimiter', help='of text files')
    arrays.add_argument('--channels', type=int,
                        help='keep the first N channels (3 drops a confidence)')
    arrays.add_argument('--scale', type=float, default=1.0,
                        help='multiplies x, y, z into metres')
    arrays.add_argument('--up', default='y-up',
                        help='the source axis pointing up (y-down: image-like)')
    arrays.add_argument('--mirror', action='store_true',
                        help='arrays: a mirror image of Kinect space; videos: '
                        'mirrored (NTU RGB), flipped for detection')
    video = parser.add_argument_group('videos')
    video.add_argument('--out-video',
                       help='write the (single) video with skeleton and label '
                       'drawn here (.mp4 or .avi)')
    video.add_argument('--max-frames', type=int, help='read at most N frames')
    add_cfg_options(parser)
    args = parser.parse_args(argv)
    if not (args.inputs or args.clips or args.split):
        parser.error('nothing to label: give input files, --clips or --split')
    if args.out_video and sum(p.lower().endswith(VIDEO_EXTENSIONS)
                              for p in args.inputs) != 1:
        parser.error('--out-video needs exactly one video input')
    return args


def format_prediction(pred: dict) -> str:
    """``clip [label]: 1. name 0.613 | 2. ...``."""
    head = pred['clip'] + (f' [{pred["label"]}]' if pred.get('label') else '')
    tops = ' | '.join(f'{k}. {name} {score:.3f}'
                      for k, (_, name, score) in enumerate(pred['top'], 1))
    return f'{head}: {tops}'


def main(argv=None):
    args = parse_args(argv)
    labeller = SkeletonLabeller(args.config, args.checkpoint, store=args.store,
                                device=args.device, cfg_options=args.cfg_options)
    preds = []
    if args.clips or args.split:
        preds += labeller.label_store(args.clips, args.split, args.topk)
    videos = [p for p in args.inputs if p.lower().endswith(VIDEO_EXTENSIONS)]
    files = [p for p in args.inputs if p not in videos]
    if files:
        if not args.layout:
            sys.exit('error: array files need --layout (their skeleton layout)')
        read = RecordingReader(args.layout, args.axes, args.columns, args.key,
                               args.delimiter)
        clips = {}
        for path in files:
            kp = read(path)[0]
            clips[osp.splitext(osp.basename(path))[0]] = \
                kp if args.channels is None else kp[..., :args.channels]
        preds += labeller.label_arrays(clips, args.layout, args.scale, args.up,
                                       args.mirror, args.topk)
    for path in videos:
        pred, landmarks = labeller.label_video(path, args.mirror, args.max_frames,
                                               args.topk)
        preds.append(pred)
        if args.out_video:
            _, name, score = pred['top'][0]
            count = draw_video(path, landmarks, [f'{name} {score:.2f}'],
                               args.out_video)
            print(f'wrote {args.out_video} ({count} frames)')
    for pred in preds:
        print(format_prediction(pred))
    if args.out:
        with open(args.out, 'w') as f:
            json.dump([dict(pred, scores=pred['scores'].tolist()) for pred in preds],
                      f, indent=1)
    return preds


if __name__ == '__main__':
    main()
