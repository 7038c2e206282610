"""MSR Action3D ``real_world_coordinates`` files -> skeleton store.

Each ``aAA_sSS_eEE_skeleton3D.txt`` holds ``20 * T`` lines ``x y z c``
(metres; ``c`` a confidence), read as ``(T, 20, 4)`` in the joint order of
layout ``msr_action3d_20``. Axes: these files already use NTU's camera
convention (x sideways with the subject's left shoulder at smaller x, y up,
z depth of about 2-3 m); measured over all 566 non-empty files, the head lies
0.32-1.84 m (median 1.56 m) above the feet in y, so no axis is swapped. Only
x, y, z are stored.
"""
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

import numpy as np

from msclr_plugin.skeletons import get_layout

from .common import ConversionError, StoreBuilder, check_keypoint, read_lines

LAYOUT = 'msr_action3d_20'
CLASSES = ('high arm wave', 'horizontal arm wave', 'hammer', 'hand catch',
           'forward punch', 'high throw', 'draw x', 'draw tick', 'draw circle',
           'hand clap', 'two hand wave', 'side boxing', 'bend', 'forward kick',
           'side kick', 'jogging', 'tennis swing', 'tennis serve', 'golf swing',
           'pick up and throw')
TRAIN_SUBJECTS = (1, 3, 5, 7, 9)
NUM_SUBJECTS = 10
NAME_RE = re.compile(r'^a(\d\d)_s(\d\d)_e(\d\d)$')
SUFFIX = '_skeleton3D.txt'


def parse_name(name: str) -> Dict[str, int]:
    """``'a13_s09_e02'`` -> action, subject, execution (1-based)."""
    match = NAME_RE.match(name)
    if match is None:
        raise ConversionError(f'{name}: not an MSR Action3D name aAA_sSS_eEE')
    return dict(
        zip(('action', 'subject', 'execution'), (int(g) for g in match.groups())))


def read_msr_file(path: str) -> np.ndarray:
    """Read one file as ``(1, T, 20, 3)`` float32.

    Raises:
        ConversionError: unreadable, line count not a multiple of the joint
        count, NaN, or all-zero coordinates (``a13_s09_e02``).
    """
    num_joints = get_layout(LAYOUT).num_joints
    try:
        vals = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as err:
        raise ConversionError(f'{path}: cannot read ({err})') from None
    if vals.shape[1] != 4 or len(vals) % num_joints or not len(vals):
        raise ConversionError(f'{path}: {vals.shape[0]} lines of '
                              f'{vals.shape[1]} values; expected '
                              f'{num_joints} * T lines of "x y z c"')
    return check_keypoint(vals.reshape(-1, num_joints, 4)[None, ..., :3], LAYOUT,
                          path)


def read_protocol(path: str) -> List[str]:
    """Sequence names of ``files_used_in_cvpr12_paper.txt``."""
    return read_lines(path)


def convert_msr3d(data_dir: str,
                  out: str,
                  protocol: Optional[str] = None,
                  derived: Sequence[str] = (),
                  preprocess: str = 'none',
                  check: bool = True,
                  progress=None) -> Dict:
    """Convert the MSR Action3D files of a directory into a store.

    Labels ``a01..a20`` -> 0..19 (:data:`CLASSES`). Split ``xsub_train``:
    subjects 1, 3, 5, 7, 9; ``xsub_val``: 2, 4, 6, 8, 10. Unreadable or
    all-zero files, actions outside a01..a20 and subjects outside s01..s10
    are skipped and reported (never stored with a label out of range or put
    into a split by default).

    Args:
        data_dir (str): ``real_world_coordinates/``.
        out (str): Output store directory.
        protocol (str, optional): ``'cvpr12'`` keeps only the sequences of
            ``files_used_in_cvpr12_paper.txt`` (in ``data_dir``), or a path
            to such a list.
        derived (Sequence[str]): Further conventions of the same motion
            through the built-in joint regressors (e.g. ``kinectv2_25``,
            ``coco``; docs/skeletons.md).
        preprocess (str | dict): Body normalisation of every convention
            (``'none'``, ``'center'``, ``'aimclr'``, ``'body'``).
        check (bool): Run the store checker at the end. Defaults to True.
        progress (callable, optional): Wraps the file iterator.

    Returns:
        dict: ``kept``, ``seen`` (files found), ``skipped``, ``index``,
        ``check``.
    """
    if not osp.isdir(data_dir):
        raise FileNotFoundError(f'{data_dir}: no such directory')
    names = sorted(f[:-len(SUFFIX)] for f in os.listdir(data_dir) if f.endswith(SUFFIX))
    keep = None
    if protocol:
        path = osp.join(data_dir, 'files_used_in_cvpr12_paper.txt') \
            if protocol == 'cvpr12' else protocol
        keep = set(read_protocol(path))
    from msclr_plugin.skeletons import JointRegressor
    regressors = {c: JointRegressor.between(LAYOUT, c) for c in derived}
    builder = StoreBuilder(
        out, {LAYOUT: LAYOUT, **{c: dict(layout=c, derived_from=LAYOUT)
                                 for c in derived}},
        normalize=preprocess,
        classes=list(CLASSES),
        tool='tools/data/msr3d_to_store.py')
    splits = {'xsub_train': [], 'xsub_val': []}
    for name in (progress(names) if progress else names):
        if keep is not None and name not in keep:
            builder.skip(name, 'not in the protocol list', 'not in protocol')
            continue
        path = osp.join(data_dir, name + SUFFIX)
        try:
            info = parse_name(name)
            if not 1 <= info['action'] <= len(CLASSES):
                raise ConversionError(
                    f'{path}: action a{info["action"]:02d} outside '
                    f'a01..a{len(CLASSES):02d}', 'unknown action')
            if not 1 <= info['subject'] <= NUM_SUBJECTS:
                raise ConversionError(
                    f'{path}: subject s{info["subject"]:02d} outside '
                    f's01..s{NUM_SUBJECTS:02d} (no split)', 'unknown subject')
            kp = read_msr_file(path)
        except ConversionError as err:
            builder.skip(name, str(err), err.kind or 'bad file')
            continue
        arrays = {c: reg(kp) for c, reg in regressors.items()}
        idx = builder.add(name, info['action'] - 1, {LAYOUT: kp, **arrays}, path)
        if idx is not None:
            train = info['subject'] in TRAIN_SUBJECTS
            splits['xsub_train' if train else 'xsub_val'].append(idx)
    res = builder.finish(
        splits,
        meta=dict(
            source='MSR Action3D real_world_coordinates',
            protocol=protocol or 'all',
            axes='as in the files (y up, z depth)'),
        check=check)
    return dict(res, seen=len(names))
