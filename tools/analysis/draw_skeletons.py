"""Draw one clip in all its skeleton conventions: a PNG and an animated GIF.

From a skeleton store (one subplot per convention of the clip):
    python tools/analysis/draw_skeletons.py --store data/stores/synthetic \
        --clip SYN_P001A001R001 --out-png clip.png --out-gif clip.gif

From arrays, one ``--input LAYOUT=PATH`` per convention; PATH is a raw NTU
``.skeleton`` file, a ``.npy`` or ``file.npz:key`` holding ``(M, T, V, C)``
or ``(T, V, C)`` (channels after the third, e.g. visibility, are dropped).
``--y-down LAYOUT`` marks data whose y axis points down (MediaPipe world
landmarks): it is turned 180 degrees about the camera's z axis (x and y
negated), which makes y point up without mirroring the body:
    python tools/analysis/draw_skeletons.py \
        --input kinectv2_25=S001C001P001R001A001.skeleton \
        --input blazepose_33=S001C001P001R001A001_mediapipe0.10.21_flipped.npz:pose_world \
        --y-down blazepose_33 --frames 0 50 100 --out-png ntu.png
"""
import argparse
import os.path as osp
import sys

import numpy as np


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    src = parser.add_argument_group('source (a store clip or --input arrays)')
    src.add_argument('--store', help='skeleton store directory')
    src.add_argument('--clip', default='0', help='clip name or index')
    src.add_argument('--conventions', nargs='+',
                     help='conventions of the store to draw (default: all)')
    src.add_argument('--input', action='append', default=[],
                     metavar='LAYOUT=PATH', help='an array file per layout')
    src.add_argument('--y-down', action='append', default=[],
                     metavar='LAYOUT', help='that input has y pointing down')
    parser.add_argument('--out-png', help='PNG of --frames')
    parser.add_argument('--out-gif', help='animated GIF of the whole clip')
    parser.add_argument('--frames', type=int, nargs='+',
                        help='frame(s) of the PNG, overlaid (default: middle)')
    parser.add_argument('--title', help='figure title')
    parser.add_argument('--fps', type=float, default=15.0)
    parser.add_argument('--step', type=int, default=1,
                        help='GIF: every step-th frame')
    parser.add_argument('--elev', type=float, default=15.0)
    parser.add_argument('--azim', type=float, default=-70.0)
    args = parser.parse_args(argv)
    if bool(args.store) == bool(args.input):
        parser.error('give either --store or --input')
    if not (args.out_png or args.out_gif):
        parser.error('give --out-png and/or --out-gif')
    return args


def load_array(path: str) -> np.ndarray:
    """``(M, T, V, 3)`` float32 from a ``.skeleton``, ``.npy`` or
    ``file.npz:key``."""
    if path.endswith('.skeleton'):
        from msclr_plugin.data_prep.ntu import load_clip
        return load_clip(path)
    if '.npz:' in path:
        file, key = path.rsplit(':', 1)
        with np.load(file) as data:
            if key not in data:
                raise KeyError(f'{file}: no array {key!r}; it has '
                               f'{sorted(data.files)}')
            kp = data[key]
    elif path.endswith('.npy'):
        kp = np.load(path)
    else:
        raise ValueError(f'{path}: expected .skeleton, .npy or file.npz:key')
    kp = np.asarray(kp, dtype=np.float32)
    if kp.ndim == 3:
        kp = kp[None]
    if kp.ndim != 4 or kp.shape[-1] < 2:
        raise ValueError(f'{path}: expected (M, T, V, C) or (T, V, C) with '
                         f'C >= 2, got {kp.shape}')
    return kp[..., :3]


def y_down_to_up(kp: np.ndarray) -> np.ndarray:
    """Turn y-down data 180 degrees about z (negate x and y; keeps
    handedness, unlike negating y alone); zero padding stays zero."""
    return kp * np.asarray([-1, -1, 1][:kp.shape[-1]], kp.dtype)


def main(argv=None):
    args = parse_args(argv)
    from msclr_plugin.skeletons import get_layout
    from msclr_plugin.visualization import (animate_conventions,
                                            load_store_clip, plot_conventions)
    if args.store:
        skeletons, layouts, title = load_store_clip(args.store, args.clip,
                                                    args.conventions)
    else:
        skeletons, layouts = {}, {}
        for item in args.input:
            name, sep, path = item.partition('=')
            if not sep:
                raise ValueError(f'--input {item!r}: expected LAYOUT=PATH')
            layouts[name] = get_layout(name)
            skeletons[name] = load_array(path)
        unknown = set(args.y_down) - set(skeletons)
        if unknown:
            raise ValueError(f'--y-down {sorted(unknown)}: not an --input')
        for name in args.y_down:
            skeletons[name] = y_down_to_up(skeletons[name])
        title = ' | '.join(
            osp.basename(i.partition('=')[2]) for i in args.input)
    title = args.title or title
    if args.out_png:
        import matplotlib.pyplot as plt
        fig = plot_conventions(skeletons, layouts, frames=args.frames,
                               title=title, out=args.out_png,
                               elev=args.elev, azim=args.azim)
        plt.close(fig)
        print(f'wrote {args.out_png}')
    if args.out_gif:
        animate_conventions(skeletons, args.out_gif, layouts, title=title,
                            fps=args.fps, step=args.step, elev=args.elev,
                            azim=args.azim)
        print(f'wrote {args.out_gif}')


if __name__ == '__main__':
    sys.exit(main())
