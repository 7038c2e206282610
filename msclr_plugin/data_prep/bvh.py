"""BVH motion capture (Bandai Namco Research Motion Dataset 2) -> store.

Forward kinematics: every joint's global transform is its parent's global
transform times the joint's local one. The local translation is the joint's
position channels when it has them (the Bandai files carry 6 channels per
joint and their position channels, not OFFSET, hold the bone vectors), else
OFFSET; the local rotation is the product of the rotation channels in the
order listed (intrinsic: ``Zrotation Xrotation Yrotation`` gives
``Rz @ Rx @ Ry``), angles in degrees. End Sites are ignored. Positions are
scaled by ``scale`` (0.01: centimetres -> metres); y is up.

Derived conventions come from the built-in joint regressors
(``bandai_bvh_22 -> smpl_24 -> kinectv2_25 | coco``, docs/data_preparation.md).
"""
import json
import os
import os.path as osp
import re
from typing import Dict, List, Optional, Sequence

import numpy as np

from msclr_plugin.skeletons import JointRegressor, get_layout

from .common import ConversionError, StoreBuilder, check_keypoint, read_lines

LAYOUT = 'bandai_bvh_22'
DERIVED = ('smpl_24', 'kinectv2_25', 'coco')
# Rotation channels beyond this many degrees (over 27 turns) are no motion
# capture: at such magnitudes the angle modulo 360 is noise.
MAX_ANGLE = 1e4
# Cross-style split (balanced: 15 train / 5 val clips per class).
VAL_STYLES = ('normal', 'youthful')
# The styles of dataset 2 (cfg/style_label.txt): one leave-one-style-out
# fold each (xstyle_<style>_train / _val)
STYLES = ('active', 'elderly', 'exhausted', 'feminine', 'masculine', 'normal', 'youthful')
_AXES = {'X': 0, 'Y': 1, 'Z': 2}


class BVH:
    """A parsed BVH file.

    Attributes:
        joint_names (list[str]): Joints in file order (End Sites excluded).
        parents (list[int]): Parent index per joint (-1 for the root).
        offsets (np.ndarray): ``(J, 3)`` OFFSET values.
        channels (list[list[str]]): Channel names per joint.
        motion (np.ndarray): ``(T, sum of channels)`` float64.
        frame_time (float): Seconds per frame.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            with open(path) as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as err:
            raise ConversionError(f'{path}: cannot read ({err})') from None
        head, sep, motion = text.partition('MOTION')
        if not sep:
            raise ConversionError(f'{path}: no MOTION section')
        self._parse_hierarchy(head)
        self._parse_motion(motion)

    def _parse_hierarchy(self, text: str) -> None:
        self.joint_names, self.parents, self.channels = [], [], []
        offsets, stack, in_end = [], [], False
        tokens = text.split()
        i = 0
        try:
            while i < len(tokens):
                tok = tokens[i]
                if tok in ('ROOT', 'JOINT'):
                    self.parents.append(stack[-1] if stack else -1)
                    self.joint_names.append(tokens[i + 1])
                    i += 2
                elif tok == 'End':
                    in_end = True
                    i += 2
                elif tok == '{':
                    if not in_end:
                        stack.append(len(self.joint_names) - 1)
                    i += 1
                elif tok == '}':
                    if in_end:
                        in_end = False
                    else:
                        stack.pop()
                    i += 1
                elif tok == 'OFFSET':
                    if not in_end:
                        offsets.append([float(v) for v in tokens[i + 1:i + 4]])
                    i += 4
                elif tok == 'CHANNELS':
                    num = int(tokens[i + 1])
                    self.channels.append(tokens[i + 2:i + 2 + num])
                    i += 2 + num
                else:
                    i += 1
        except (ValueError, IndexError) as err:
            raise ConversionError(f'{self.path}: corrupt HIERARCHY near token '
                                  f'{i} ({err})') from None
        if not self.joint_names or len(offsets) != len(self.joint_names) or \
                len(self.channels) != len(self.joint_names) or stack:
            raise ConversionError(f'{self.path}: inconsistent HIERARCHY '
                                  f'({len(self.joint_names)} joints, '
                                  f'{len(offsets)} offsets, '
                                  f'{len(self.channels)} channel lists)')
        self.offsets = np.asarray(offsets, dtype=np.float64)

    def _parse_motion(self, text: str) -> None:
        match = re.search(r'Frames:\s*(\d+)\s*Frame Time:\s*(\S+)', text)
        if match is None:
            raise ConversionError(f'{self.path}: no "Frames:"/"Frame Time:"')
        num = int(match.group(1))
        self.frame_time = float(match.group(2))
        width = sum(len(c) for c in self.channels)
        try:
            vals = np.asarray(text[match.end():].split(), dtype=np.float64)
        except ValueError as err:
            raise ConversionError(f'{self.path}: corrupt MOTION ({err})') \
                from None
        if vals.size != num * width:
            raise ConversionError(f'{self.path}: {vals.size} motion values, '
                                  f'expected {num} frames x {width} channels')
        if num == 0:
            raise ConversionError(f'{self.path}: zero frames')
        self.motion = vals.reshape(num, width)
        if not np.isfinite(self.motion).all():
            raise ConversionError(f'{self.path}: NaN in MOTION')
        columns = [(joint, chan) for joint, chans in zip(self.joint_names,
                                                         self.channels)
                   for chan in chans]
        rot = [i for i, (_, chan) in enumerate(columns)
               if chan.endswith('rotation')]
        angles = np.abs(self.motion[:, rot])
        if angles.size and angles.max() > MAX_ANGLE:
            t, k = np.unravel_index(angles.argmax(), angles.shape)
            joint, chan = columns[rot[k]]
            raise ConversionError(
                f'{self.path}: frame {t}, joint {joint}: {chan} '
                f'{self.motion[t, rot[k]]:.3g} degrees (beyond '
                f'{MAX_ANGLE:g}): no motion capture angle', 'implausible angle')

    @property
    def edges(self) -> List[tuple]:
        """``(child, parent)`` joint-name pairs of the hierarchy."""
        return [(self.joint_names[j], self.joint_names[p])
                for j, p in enumerate(self.parents) if p >= 0]

    def positions(self, scale: float = 1.0) -> np.ndarray:
        """Global joint positions ``(T, J, 3)`` by forward kinematics."""
        num = len(self.motion)
        glob_rot = [None] * len(self.joint_names)
        glob_pos = np.zeros((num, len(self.joint_names), 3))
        col = 0
        for j, chans in enumerate(self.channels):
            local = self.motion[:, col:col + len(chans)]
            col += len(chans)
            trans = np.tile(self.offsets[j], (num, 1))
            rot = np.tile(np.eye(3), (num, 1, 1))
            for k, chan in enumerate(chans):
                axis = _AXES.get(chan[:1].upper())
                if axis is None or chan[1:] not in ('position', 'rotation'):
                    raise ConversionError(f'{self.path}: joint '
                                          f'{self.joint_names[j]}: unknown '
                                          f'channel {chan!r}')
                if chan.endswith('position'):
                    trans[:, axis] = local[:, k]
                else:
                    rot = rot @ _axis_rotation(axis, np.radians(local[:, k]))
            parent = self.parents[j]
            if parent < 0:
                glob_pos[:, j] = trans
                glob_rot[j] = rot
            else:
                glob_pos[:, j] = glob_pos[:, parent] + np.einsum(
                    'tij,tj->ti', glob_rot[parent], trans)
                glob_rot[j] = glob_rot[parent] @ rot
        return glob_pos * scale


def _axis_rotation(axis: int, angle: np.ndarray) -> np.ndarray:
    """``(T, 3, 3)`` right-handed rotations about one axis."""
    c, s = np.cos(angle), np.sin(angle)
    out = np.tile(np.eye(3), (len(angle), 1, 1))
    a, b = [(1, 2), (2, 0), (0, 1)][axis]
    out[:, a, a], out[:, a, b] = c, -s
    out[:, b, a], out[:, b, b] = s, c
    return out


def check_hierarchy(bvh: BVH, layout=LAYOUT) -> None:
    """Raise unless the file's joints and parent links are the layout's."""
    layout = get_layout(layout)
    if tuple(bvh.joint_names) != layout.joint_names:
        raise ConversionError(f'{bvh.path}: joints {bvh.joint_names} differ '
                              f'from layout {layout.name} '
                              f'{list(layout.joint_names)}')
    names = layout.joint_names
    layout_edges = {frozenset((names[a], names[b])) for a, b in layout.edges}
    if {frozenset(e) for e in bvh.edges} != layout_edges:
        raise ConversionError(f'{bvh.path}: hierarchy links differ from the '
                              f'edges of layout {layout.name}')


def load_bvh_conventions(path: str,
                         derived: Sequence[str] = DERIVED,
                         scale: float = 0.01) -> Dict[str, np.ndarray]:
    """One BVH file as ``{convention: (1, T, V, 3)}``: ``bandai_bvh_22`` plus
    the ``derived`` conventions through :class:`JointRegressor`."""
    bvh = BVH(path)
    check_hierarchy(bvh)
    pos = check_keypoint(bvh.positions(scale)[None], LAYOUT, path)
    out = {LAYOUT: pos}
    for conv in derived:
        out[conv] = JointRegressor.between(LAYOUT, conv)(pos)
    return out


def parse_bandai_name(name: str) -> Dict[str, str]:
    """``'dataset-2_walk-turn-left_active_001'`` -> content, style, take."""
    match = re.match(r'^dataset-2_(.+)_([a-z]+)_(\d+)$', name)
    if match is None:
        raise ConversionError(f'{name}: not a Bandai dataset-2 clip name')
    return dict(zip(('content', 'style', 'take'), match.groups()))


def convert_bandai(root: str,
                   out: str,
                   derived: Sequence[str] = DERIVED,
                   max_files: Optional[int] = None,
                   files: Optional[Sequence[str]] = None,
                   preprocess: str = 'none',
                   check: bool = True,
                   progress=None) -> Dict:
    """Convert the Bandai Namco dataset-2 BVH files into a store.

    Classes come from ``cfg/content_label.txt`` (label = the ``content`` id
    of each clip's ``.json``); the style of the ``.json`` must agree with the
    file name. Split ``xstyle_train`` = styles active, elderly, exhausted,
    feminine, masculine; ``xstyle_val`` = normal, youthful. Leave-one-style-out
    folds: ``xstyle_<style>_val`` = the clips of one style of
    ``cfg/style_label.txt``, ``xstyle_<style>_train`` = all others.

    Args:
        root (str): Dataset folder with ``data/`` and ``cfg/``.
        out (str): Output store directory.
        derived (Sequence[str]): Conventions derived by regression.
        max_files (int, optional): Convert only the first N files.
        files (Sequence[str], optional): Explicit clip names.
        preprocess (str | dict): Body normalisation of every convention
            (``'none'``, ``'center'``, ``'aimclr'``, ``'body'``).
        check (bool): Run the store checker at the end. Defaults to True.
        progress (callable, optional): Wraps the file iterator.

    Returns:
        dict: ``kept``, ``skipped``, ``index``, ``check``.
    """
    data_dir = osp.join(root, 'data')
    classes = [
        c.replace('dataset-2_', '')
        for c in read_lines(osp.join(root, 'cfg', 'content_label.txt'))
    ]
    styles = [
        s.replace('dataset-2_', '')
        for s in read_lines(osp.join(root, 'cfg', 'style_label.txt'))
    ]
    names = list(files) if files is not None else sorted(f[:-4]
                                                         for f in os.listdir(data_dir)
                                                         if f.endswith('.bvh'))
    if max_files is not None:
        names = names[:max_files]
    builder = StoreBuilder(
        out, {LAYOUT: LAYOUT, **{c: dict(layout=c, derived_from=LAYOUT)
                                 for c in derived}},
        normalize=preprocess,
        classes=classes,
        tool='tools/data/bvh_to_store.py')
    splits = {'xstyle_train': [], 'xstyle_val': []}
    for style in styles:
        splits.update({f'xstyle_{style}_train': [], f'xstyle_{style}_val': []})
    for name in (progress(names) if progress else names):
        path = osp.join(data_dir, name + '.bvh')
        try:
            info = parse_bandai_name(name)
            with open(osp.join(data_dir, name + '.json')) as f:
                ann = json.load(f)
            label = int(ann['content'])
            if not 0 <= label < len(classes) or \
                    not 0 <= int(ann['style']) < len(styles):
                raise ConversionError(f'{name}.json: content/style {ann} '
                                      'outside cfg/*_label.txt')
            if classes[label] != info['content'] or \
                    styles[int(ann['style'])] != info['style']:
                raise ConversionError(f'{name}.json: content/style {ann} '
                                      'disagree with the file name')
            arrays = load_bvh_conventions(path, derived)
        except (OSError, ValueError, KeyError, IndexError) as err:
            builder.skip(name, f'{path}: {err}', type(err).__name__)
            continue
        idx = builder.add(name, label, arrays, path)
        if idx is not None:
            val = info['style'] in VAL_STYLES
            splits['xstyle_val' if val else 'xstyle_train'].append(idx)
            for style in styles:
                splits[f'xstyle_{style}_' + ('val' if style == info['style']
                                             else 'train')].append(idx)
    for style in styles:  # a fold without test (or training) clips is no fold
        fold = [f'xstyle_{style}_{side}' for side in ('train', 'val')]
        if not all(splits[name] for name in fold):
            for name in fold:
                del splits[name]
    return builder.finish(
        splits,
        meta=dict(
            source='Bandai Namco Research Motion Dataset 2 (BVH)',
            fps=30,
            units='metres',
            derived=list(derived),
            val_styles=list(VAL_STYLES)),
        check=check)
