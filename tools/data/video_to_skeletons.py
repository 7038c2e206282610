"""Extract skeletons from videos into one ``.npz`` per video (one array
``(M, T, V, C)`` per convention), ready for tools/data/attach_convention.py.

Extractors: ``mediapipe`` (BlazePose-33), ``mmpose`` (an mmpose inferencer)
and ``metrabs``: several formats per pass from a MeTRAbs model that is yours,
loaded from your disk (``--model``: a TensorFlow SavedModel directory, or
whatever ``--estimator-factory module:function`` loads from it, e.g. the
PyTorch port). MeTRAbs output is written in Kinect v2 camera space (metres,
y up); with ``--skeletons-dir`` the people it finds are matched to the
clip's Kinect bodies (pelvis distance after a per-clip alignment) and the
frames without a Kinect body are dropped, as tools/data/ntu_to_store.py
drops them; every clip's counts go to ``<out>/association.json``.

Presets (--preset, MeTRAbs; explicit options override them):
``recommended`` is our recipe (every format from one pass, --mirror, --fov
84.1, people by detector score, whole clips); ``msclr-reference`` reproduces
the MS-CLR authors' extraction (SMPL-X 42 estimated directly, detector
threshold 0.01, suppress_implausible_poses False, max_detections 2,
MeTRAbs' default 55 degree field of view, no mirroring, the detector's
order, the first 300 frames); docs/data_preparation.md compares them.

Examples (NTU RGB videos are mirrored: --mirror):
    python tools/data/video_to_skeletons.py data/nturgb+d_rgb/*.avi \
        --out work/mediapipe --extractor mediapipe --mirror --strip-suffix _rgb
    python tools/data/video_to_skeletons.py data/nturgb+d_rgb \
        --strip-suffix _rgb --out data/metrabs --extractor metrabs \
        --model models/metrabs_eff2l_y4 --formats smplx_42 smpl_24 --mirror \
        --fov 84.1 --skeletons-dir data/nturgb+d_skeletons
    python tools/data/video_to_skeletons.py data/nturgb+d_rgb \
        --strip-suffix _rgb --out data/metrabs_ref --preset msclr-reference \
        --model models/metrabs_eff2l_y4
    python tools/data/attach_convention.py --store data/stores/ntu60 \
        --files-dir data/metrabs --out data/stores/ntu60_msclr \
        --name smplx_42 --pattern '{clip}.npz' --key smplx_42 --axes MTVC \
        --on-mismatch error
    python tools/data/attach_convention.py --store work/stores/ntu60 \
        --files-dir work/mediapipe --out work/stores/ntu60_mp \
        --name blazepose_33 --pattern '{clip}.npz' --key blazepose_33 --channels 3 \
        --axes MTVC --up y-down
"""
import argparse
import importlib
import json
import os
import os.path as osp
import time

import numpy as np
from tqdm import tqdm

from msclr_plugin.data_prep.video import METRABS_PRESETS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        'videos', nargs='+', help='video files, or directories of them (.avi, .mp4)')
    parser.add_argument('--out', required=True, help='output directory')
    parser.add_argument(
        '--extractor', choices=['mediapipe', 'mmpose', 'metrabs'],
        help='default: mediapipe; metrabs with --preset')
    parser.add_argument(
        '--preset', choices=sorted(METRABS_PRESETS),
        help='MeTRAbs settings (see above); implies --extractor metrabs')
    parser.add_argument(
        '--mirror', action='store_true', default=None,
        help='flip frames first (NTU RGB is mirrored)')
    parser.add_argument(
        '--order', choices=['score', 'detector'],
        help='metrabs without --skeletons-dir: people by detector score '
        "(default) or in the detector's order")
    parser.add_argument(
        '--metrabs-skeleton',
        help="metrabs: estimate this format directly (skeleton=...; default '': "
        'all joints in one pass, every format sliced from them)')
    parser.add_argument(
        '--image', action='store_true', help='also save image landmarks (mediapipe)')
    parser.add_argument(
        '--pose2d', default='human', help='mmpose inferencer model alias (mmpose)')
    parser.add_argument(
        '--layout', default='coco', help='layout of the mmpose model keypoints')
    parser.add_argument('--model', help='metrabs: your model (a directory or file)')
    parser.add_argument(
        '--estimator-factory', metavar='MODULE:FUNCTION',
        help='metrabs: a function that loads --model and returns the model '
        '(default: tensorflow.saved_model.load)')
    parser.add_argument(
        '--formats', nargs='+',
        help='metrabs formats, each saved under its name (a built-in layout: '
        'smplx_42, smpl_24, berkeley_mhad_43, kinectv2_25; default smplx_42)')
    parser.add_argument('--batch-size', type=int, default=16,
                        help='metrabs: frames per call')
    parser.add_argument(
        '--fov', type=float,
        help="metrabs: the camera's field of view along the image's larger side "
        '(degrees; MeTRAbs assumes 55; Kinect v2 colour camera: 84.1)')
    parser.add_argument(
        '--metrabs-option', nargs='+', default=[], metavar='KEY=VALUE',
        help='more detect_poses_batched arguments, values as JSON (e.g. '
        'detector_threshold=0.2 max_detections=4)')
    parser.add_argument(
        '--skeletons-dir',
        help='metrabs: NTU .skeleton files; match people to their Kinect bodies')
    parser.add_argument('--max-bodies', type=int, default=2,
                        help='bodies per clip (as ntu_to_store.py)')
    parser.add_argument('--max-distance', type=float, default=0.5,
                        help='metrabs: farthest pelvis match after alignment (m)')
    parser.add_argument('--max-frames', type=int)
    parser.add_argument(
        '--strip-suffix',
        default='',
        help='removed from the file stem to get the clip '
        'name (e.g. _rgb)')
    return apply_preset(parser, parser.parse_args(argv))


def apply_preset(parser, args):
    """Fill the options not given from ``--preset`` (else the defaults)."""
    preset = dict(formats=['smplx_42'], skeleton='', mirror=False, fov=None,
                  order='score', max_frames=None, detect={})
    if args.preset:
        if args.extractor not in (None, 'metrabs'):
            parser.error(f'--preset {args.preset} is a MeTRAbs preset, not for '
                         f'--extractor {args.extractor}')
        args.extractor = 'metrabs'
        preset = METRABS_PRESETS[args.preset]
    args.extractor = args.extractor or 'mediapipe'
    for key in ('formats', 'mirror', 'fov', 'order', 'max_frames'):
        if getattr(args, key) is None:
            setattr(args, key, preset[key])
    if args.metrabs_skeleton is None:
        args.metrabs_skeleton = preset['skeleton']
    args.detect_defaults = dict(preset['detect'])
    return args


def load_estimator(args):
    if not args.model:
        raise SystemExit('--extractor metrabs needs --model (your MeTRAbs model)')
    if args.estimator_factory:
        module, _, name = args.estimator_factory.partition(':')
        return getattr(importlib.import_module(module), name)(args.model)
    try:
        import tensorflow as tf
    except ImportError:
        raise SystemExit('loading a MeTRAbs SavedModel needs tensorflow; or give '
                         '--estimator-factory for another loader') from None
    return tf.saved_model.load(args.model)


def build_extractor(args):
    from msclr_plugin.data_prep.video import (MediaPipeExtractor, MeTRAbsAdapter,
                                              MMPoseExtractor, MultiFormatExtractor)
    if args.extractor == 'mediapipe':
        return MediaPipeExtractor(
            mirror=args.mirror, image=args.image, max_frames=args.max_frames)
    if args.extractor == 'metrabs':
        options = dict(args.detect_defaults)
        for item in args.metrabs_option:
            key, _, value = item.partition('=')
            try:
                options[key] = json.loads(value)
            except json.JSONDecodeError:
                options[key] = value
        if args.fov is not None:
            options['default_fov_degrees'] = args.fov
        print(f'metrabs: formats {args.formats}, skeleton '
              f'{args.metrabs_skeleton!r}, mirror {args.mirror}, order '
              f'{args.order}, max frames {args.max_frames}, options {options}'
              + (f' (preset {args.preset})' if args.preset else ''))
        adapter = MeTRAbsAdapter(load_estimator(args), args.formats,
                                 skeleton=args.metrabs_skeleton, **options)
        return MultiFormatExtractor(
            adapter, args.formats, batch_size=args.batch_size,
            max_person=args.max_bodies, mirror=args.mirror,
            max_distance=args.max_distance, max_frames=args.max_frames,
            order=args.order)
    from mmpose.apis import MMPoseInferencer  # needs mmdet + torchvision
    return MMPoseExtractor(
        MMPoseInferencer(pose2d=args.pose2d),
        layout=args.layout,
        max_frames=args.max_frames)


def kinect_reference(args, clip):
    """The clip's Kinect bodies over every frame, in the store's order."""
    from msclr_plugin.data_prep.ntu import kept_bodies, read_skeleton_file
    tracks = read_skeleton_file(osp.join(args.skeletons_dir, clip + '.skeleton'))
    reference, _ = kept_bodies(tracks, args.max_bodies)
    return reference[:, :args.max_frames] if args.max_frames else reference


def main(argv=None):
    args = parse_args(argv)
    if args.skeletons_dir and args.extractor != 'metrabs':
        raise SystemExit('--skeletons-dir goes with --extractor metrabs')
    videos = []
    for path in args.videos:
        videos += sorted(osp.join(path, f) for f in os.listdir(path)
                         if f.lower().endswith(('.avi', '.mp4'))) \
            if osp.isdir(path) else [path]
    extractor = build_extractor(args)
    os.makedirs(args.out, exist_ok=True)
    start, failed, missing, reports = time.time(), [], 0, {}
    for video in tqdm(videos, desc='videos', unit='video'):
        stem = osp.splitext(osp.basename(video))[0]
        if args.strip_suffix and stem.endswith(args.strip_suffix):
            stem = stem[:-len(args.strip_suffix)]
        try:
            if args.skeletons_dir:
                skeletons = extractor.extract(video, kinect_reference(args, stem))
            else:
                skeletons = extractor.extract(video)
        except (ValueError, KeyError, OSError) as err:
            failed.append(f'{video} (clip {stem}): {type(err).__name__}: {err}')
            continue
        missing += extractor.last_missing
        reports[stem] = getattr(extractor, 'last_report', None)
        np.savez_compressed(osp.join(args.out, stem + '.npz'), **skeletons)
    print(f'{len(videos) - len(failed)} videos extracted, '
          f'{len(failed)} failed, {missing} frames without a detection '
          '(zero-filled)')
    if args.extractor == 'metrabs':
        totals = {k: sum(r[k] for r in reports.values())
                  for k in ('frames', 'no_detection', 'dropped', 'extra',
                            'unmatched', 'reordered') if reports and
                  all(k in r for r in reports.values())}
        print('people and bodies: ' + ', '.join(f'{v} {k}' for k, v in totals.items()))
        with open(osp.join(args.out, 'association.json'), 'w') as f:
            json.dump(dict(totals=totals, clips=reports, failed=failed), f, indent=1)
    for line in failed:
        print('  ' + line)
    print(f'done in {time.time() - start:.1f} s')
    return reports


if __name__ == '__main__':
    main()
