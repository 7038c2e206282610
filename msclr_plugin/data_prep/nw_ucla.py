"""Northwestern-UCLA Multiview Action3D skeleton JSON files -> skeleton store.

The skeleton release the field uses (CTR-GCN's ``all_sqe/`` folder) holds
one ``aAA_sSS_eEE_vVV.json`` per sequence (action, subject, execution,
view 1-3), each with ``skeletons``: ``T`` frames of the 20 Kinect v1 joints
``[x, y, z]`` in the Kinect SDK's joint order (HipCenter, Spine, ... FootRight,
:data:`FILE_JOINTS`), one person. The ten actions are a01-a06, a08, a09,
a11 and a12, labelled 0-9 in that order (:data:`CLASSES`). Standard
cross-view protocol: views 1 and 2 train (``xview_train``), view 3 tests
(``xview_val``).

The joints are stored in the project's Kinect v1 layout ``msr_action3d_20``
(the same 20 joints and bones in MSR Action3D's order), reordered by name,
so that its graph and joint regressors (``derived`` conventions) apply.
Coordinates are kept as in the files.
"""
import json
import os
import os.path as osp
import re
from typing import Dict, Sequence

import numpy as np

from msclr_plugin.skeletons import KINECT_V1_SDK_ORDER as FILE_JOINTS
from msclr_plugin.skeletons import get_layout

from .common import ConversionError, StoreBuilder, check_keypoint

LAYOUT = 'msr_action3d_20'
# action id -> label
ACTIONS = (1, 2, 3, 4, 5, 6, 8, 9, 11, 12)
CLASSES = ('pick up with one hand', 'pick up with two hands', 'drop trash',
           'walk around', 'sit down', 'stand up', 'donning', 'doffing', 'throw',
           'carry')
TRAIN_VIEWS, TEST_VIEWS = (1, 2), (3, )
NAME_RE = re.compile(r'^a(\d\d)_s(\d\d)_e(\d\d)_v(\d\d)$')


def parse_name(name: str) -> Dict[str, int]:
    """``'a08_s02_e01_v03'`` -> action, subject, execution, view."""
    match = NAME_RE.match(name)
    if match is None:
        raise ConversionError(f'{name}: not an NW-UCLA name aAA_sSS_eEE_vVV')
    return dict(zip(('action', 'subject', 'execution', 'view'),
                    (int(g) for g in match.groups())))


def read_ucla_file(path: str) -> np.ndarray:
    """One file as ``(1, T, 20, 3)`` float32 in :data:`LAYOUT`'s order.

    Raises:
        ConversionError: unreadable JSON, no ``skeletons``, frames that are
        not 20 x 3, NaN or all-zero coordinates.
    """
    try:
        with open(path) as f:
            frames = json.load(f)['skeletons']
        kp = np.asarray(frames, dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ConversionError(f'{path}: cannot read NW-UCLA skeletons '
                              f'({type(err).__name__}: {err})') from None
    if kp.ndim != 3 or kp.shape[1:] != (len(FILE_JOINTS), 3) or not len(kp):
        raise ConversionError(f'{path}: skeletons of shape {kp.shape}; expected '
                              f'(T, {len(FILE_JOINTS)}, 3)')
    order = [FILE_JOINTS.index(n) for n in get_layout(LAYOUT).joint_names]
    return check_keypoint(kp[None][:, :, order], LAYOUT, path)


def convert_nw_ucla(data_dir: str,
                    out: str,
                    derived: Sequence[str] = (),
                    preprocess: str = 'none',
                    check: bool = True,
                    progress=None) -> Dict:
    """Convert the NW-UCLA JSON files of a directory into a store.

    Splits ``xview_train`` (views 1, 2) and ``xview_val`` (view 3). Files
    that do not read, actions outside :data:`ACTIONS` and views outside 1-3
    are skipped and reported.

    Args:
        data_dir (str): The folder of ``aAA_sSS_eEE_vVV.json`` files.
        out (str): Output store directory.
        derived (Sequence[str]): Further conventions of the same motion
            through the built-in joint regressors (e.g. ``coco``).
        preprocess (str | dict): Body normalisation of every convention.
        check (bool): Run the store checker at the end. Defaults to True.
        progress (callable, optional): Wraps the file iterator.

    Returns:
        dict: ``kept``, ``seen``, ``skipped``, ``index``, ``check``.
    """
    if not osp.isdir(data_dir):
        raise FileNotFoundError(f'{data_dir}: no such directory')
    names = sorted(f[:-5] for f in os.listdir(data_dir) if f.endswith('.json'))
    from msclr_plugin.skeletons import JointRegressor
    regressors = {c: JointRegressor.between(LAYOUT, c) for c in derived}
    builder = StoreBuilder(out, {c: c for c in (LAYOUT, *derived)},
                           normalize=preprocess, classes=list(CLASSES))
    splits = {'xview_train': [], 'xview_val': []}
    for name in (progress(names) if progress else names):
        path = osp.join(data_dir, name + '.json')
        try:
            info = parse_name(name)
            if info['action'] not in ACTIONS:
                raise ConversionError(f'{path}: action a{info["action"]:02d} is '
                                      'not one of the ten', 'unknown action')
            if info['view'] not in TRAIN_VIEWS + TEST_VIEWS:
                raise ConversionError(f'{path}: view v{info["view"]:02d} outside '
                                      'v01..v03 (no split)', 'unknown view')
            kp = read_ucla_file(path)
        except ConversionError as err:
            builder.skip(name, str(err), err.kind or 'bad file')
            continue
        arrays = {c: reg(kp) for c, reg in regressors.items()}
        idx = builder.add(name, ACTIONS.index(info['action']), {LAYOUT: kp, **arrays},
                          path)
        if idx is not None:
            train = info['view'] in TRAIN_VIEWS
            splits['xview_train' if train else 'xview_val'].append(idx)
    res = builder.finish(
        splits,
        meta=dict(source='NW-UCLA skeleton JSON (all_sqe)',
                  protocol='cross-view: views 1, 2 train, view 3 test',
                  axes='as in the files'),
        check=check)
    return dict(res, seen=len(names))
