"""Convert a checkpoint into one this project's evaluation models load.

Sources (detected from the keys):

- AimCLR / MS-CLR (the reference code): the query encoder ``encoder_q.*``
  of a pretraining or linear-evaluation checkpoint, or a bare encoder state
  dict. Output: ``backbone.*`` (+ the projector as ``neck.projector.*``, a
  reference classifier as ``cls_head.fc.<convention>.*``); the reference
  graphs are checked against this project's layouts.
- This project's pretraining checkpoints: the query encoder only
  (``backbone.*``); key encoder, projector, queue, optimizer and message hub
  are dropped.

The output loads with ``weights_only=True``, as every checkpoint here:
``--cfg-options model.backbone.init_cfg.checkpoint=<out>`` for a linear
probe or fine-tuning. A file that only a full unpickling can read (a legacy
pickle, numpy objects in its meta) is refused unless ``--trust`` is given:
THE ONE PATH IN THIS PROJECT THAT UNPICKLES A FILE, which can run any code
it holds. Use it only for files from a source you trust.

Examples:
    python tools/convert_checkpoint.py aimclr/epoch300_model.pt work_dirs/aimclr_backbone.pth
    python tools/convert_checkpoint.py msclr/epoch300_model.pt out.pth --skeleton-map ntu-rgb+d=kinectv2_25
    python tools/convert_checkpoint.py work_dirs/ms_aimclr/epoch_300.pth backbone.pth
    python tools/convert_checkpoint.py old_pickled.pth out.pth --trust
"""
import argparse
import os
import os.path as osp
import sys

import torch

import msclr_plugin  # noqa: F401  (stack fixes + registration, first)
from msclr_plugin.models.checkpoint_convert import (checkpoint_state,
                                                    convert_state)
from msclr_plugin.utils.checkpoint import (CheckpointError, describe_keys,
                                           read_checkpoint)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', help='checkpoint to convert')
    parser.add_argument('out', help='output checkpoint (.pth)')
    parser.add_argument(
        '--skeleton-map',
        nargs='+',
        default=[],
        metavar='NAME=LAYOUT',
        help="reference skeleton -> layout, e.g. ntu-rgb+d=kinectv2_25 "
        "(AimCLR's single graph: A=<layout>); default: the layout of the "
        'same name or the same graph')
    parser.add_argument(
        '--encoder-prefix',
        help="reference encoder prefix (default 'encoder_q.' if present)")
    parser.add_argument(
        '--stream', help="MSCrosSCLR checkpoints: the stream to keep")
    parser.add_argument(
        '--trust',
        action='store_true',
        help='unpickle the source in full (weights_only=False): runs any '
        'code the file holds; only for files from a trusted source')
    return parser.parse_args(argv)


def plain(obj):
    """``obj`` with only plain data (None for anything else): the meta of
    a trusted legacy file may hold arbitrary objects."""
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    if hasattr(obj, 'item') and getattr(obj, 'ndim', 1) == 0:
        return plain(obj.item())
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    return None


def main(argv=None):
    args = parse_args(argv)
    try:
        skeleton_map = dict(item.split('=', 1) for item in args.skeleton_map)
    except ValueError:
        raise SystemExit('error: --skeleton-map takes NAME=LAYOUT items')
    if args.trust:
        print(f'--trust: unpickling {args.src} in full', file=sys.stderr)
    try:
        checkpoint = read_checkpoint(
            args.src, map_location='cpu', trust=args.trust)
        state = checkpoint_state(checkpoint, args.src)
        converted, info = convert_state(
            state,
            args.src,
            skeleton_map=skeleton_map,
            encoder_prefix=args.encoder_prefix,
            stream=args.stream)
    except (CheckpointError, FileNotFoundError) as err:
        raise SystemExit(f'error: {err}')
    meta = dict(
        info,
        converted_from=osp.abspath(args.src),
        source_meta=plain(checkpoint.get('meta')))
    out_dir = osp.dirname(osp.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    tmp = args.out + '.tmp'
    torch.save(dict(state_dict=converted, meta=meta), tmp)
    read_checkpoint(tmp)  # what every loader here will do with it
    os.replace(tmp, args.out)
    groups = describe_keys(converted, limit=6, examples=False)
    conventions = info.get('conventions')
    print(f'{args.src} ({info["source_format"]}) -> {args.out}: {groups}' +
          (f'; conventions {conventions}' if conventions else '') +
          (f'; dropped {info["dropped"]}' if info['dropped'] else ''))
    print(f'use: --cfg-options model.backbone.init_cfg.checkpoint={args.out}')


if __name__ == '__main__':
    main()
