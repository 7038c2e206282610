"""Extract skeletons from videos into one ``.npz`` per video (one array per
convention), ready for tools/data/attach_convention.py.

Example (NTU RGB videos are mirrored: --mirror):
    python tools/data/video_to_skeletons.py data/nturgb+d_rgb/*.avi \
        --out work/mediapipe --extractor mediapipe --mirror --strip-suffix _rgb
    python tools/data/attach_convention.py --store work/stores/ntu60 \
        --files-dir work/mediapipe --out work/stores/ntu60_mp \
        --name blazepose_33 --pattern '{clip}.npz' --key blazepose_33 --channels 3
"""
import argparse
import os
import os.path as osp
import time

import numpy as np
from tqdm import tqdm


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('videos', nargs='+', help='video files')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument(
        '--extractor', choices=['mediapipe', 'mmpose'], default='mediapipe')
    parser.add_argument(
        '--mirror', action='store_true', help='flip frames first (NTU RGB is mirrored)')
    parser.add_argument(
        '--image', action='store_true', help='also save image landmarks (mediapipe)')
    parser.add_argument(
        '--pose2d', default='human', help='mmpose inferencer model alias (mmpose)')
    parser.add_argument(
        '--layout', default='coco', help='layout of the mmpose model keypoints')
    parser.add_argument('--max-frames', type=int)
    parser.add_argument(
        '--strip-suffix',
        default='',
        help='removed from the file stem to get the clip '
        'name (e.g. _rgb)')
    return parser.parse_args()


def build_extractor(args):
    from msclr_plugin.data_prep.video import (MediaPipeExtractor, MMPoseExtractor)
    if args.extractor == 'mediapipe':
        return MediaPipeExtractor(
            mirror=args.mirror, image=args.image, max_frames=args.max_frames)
    from mmpose.apis import MMPoseInferencer  # needs mmdet + torchvision
    return MMPoseExtractor(
        MMPoseInferencer(pose2d=args.pose2d),
        layout=args.layout,
        max_frames=args.max_frames)


def main():
    args = parse_args()
    extractor = build_extractor(args)
    os.makedirs(args.out, exist_ok=True)
    start, failed, missing = time.time(), [], 0
    for video in tqdm(args.videos, desc='videos', unit='video'):
        stem = osp.splitext(osp.basename(video))[0]
        if args.strip_suffix and stem.endswith(args.strip_suffix):
            stem = stem[:-len(args.strip_suffix)]
        try:
            skeletons = extractor.extract(video)
        except ValueError as err:
            failed.append(f'{video}: {err}')
            continue
        missing += extractor.last_missing
        np.savez_compressed(osp.join(args.out, stem + '.npz'), **skeletons)
    print(f'{len(args.videos) - len(failed)} videos extracted, '
          f'{len(failed)} failed, {missing} frames without a detection '
          '(zero-filled)')
    for line in failed:
        print('  ' + line)
    print(f'done in {time.time() - start:.1f} s')


if __name__ == '__main__':
    main()
