"""Deriving one skeleton convention from another: linear joint regressors.

A regressor writes every target joint as a weighted sum of source joints,
by name. Weights summing to 1 keep the result translation-equivariant;
"virtual" joints extrapolate along a bone (e.g. a hand tip as
``1.6 * hand - 0.6 * wrist``). Regressors compose, so a chain such as
``bandai_bvh_22 -> smpl_24 -> kinectv2_25`` needs no spec of its own.

The built-in specs are hand-made geometric approximations (documented in
docs/skeletons.md); they let one real motion (mocap) or one synthetic body
appear in several conventions. They are not learned regressors. Between
layouts whose joints carry the same names (or aliases), a name-for-name copy
needs no spec at all: a user layout with Kinect v1 names reaches every
built-in through ``msr_action3d_20``.
"""
from typing import Dict, List, Optional, Tuple

import numpy as np

from .layout import flip_from_names
from .registry import LayoutLike, get_layout, layout_spec, list_layouts

Spec = Dict[str, Dict[str, float]]


def _lerp(a: str, b: str, t: float) -> Dict[str, float]:
    """The point ``a + t * (b - a)`` (t outside [0, 1] extrapolates)."""
    return {a: 1.0 - t, b: t}


def _plus(*terms: Dict[str, float]) -> Dict[str, float]:
    out: Dict[str, float] = {}
    for term in terms:
        for k, v in term.items():
            out[k] = out.get(k, 0.0) + v
    return out


def _side(a: str, b: str, t: float) -> Dict[str, float]:
    """A pure offset ``t * (a - b)`` (weights sum to 0)."""
    return {a: t, b: -t}


def _mirror_names(layout: str) -> Dict[str, str]:
    """Joint name -> mirrored joint name of a built-in layout, from its plain
    data (building it at import time would log its graph facts)."""
    spec = layout_spec(layout)
    names, flip = spec['joint_names'], spec['flip']
    flip = flip_from_names(names) if flip == 'auto' else flip
    return {name: names[f] for name, f in zip(names, flip)}


def _mirror_spec(left: Spec, source: str, target: str) -> Spec:
    """Add the right-side entries by mirroring names through both layouts'
    flip permutations."""
    src, tgt = _mirror_names(source), _mirror_names(target)
    spec = dict(left)
    for name, weights in left.items():
        spec[tgt[name]] = {src[k]: v for k, v in weights.items()}
    return spec


_BANDAI_TO_SMPL = _mirror_spec(
    {
        'lhip': {'UpperLeg_L': 1.0},
        'lkne': {'LowerLeg_L': 1.0},
        'lank': {'Foot_L': 1.0},
        'ltoe': {'Toes_L': 1.0},
        'lcla': {'Shoulder_L': 1.0},
        'lsho': {'UpperArm_L': 1.0},
        'lelb': {'LowerArm_L': 1.0},
        'lwri': {'Hand_L': 1.0},
        'lhan': _lerp('LowerArm_L', 'Hand_L', 1.35),
    },
    'bandai_bvh_22', 'smpl_24')
_BANDAI_TO_SMPL.update({
    'pelv': {'Hips': 1.0},
    'spi1': {'Spine': 1.0},
    'spi2': {'Chest': 1.0},
    'spi3': _lerp('Chest', 'Neck', 0.3),
    'neck': {'Neck': 1.0},
    # the BVH 'Head' sits at the skull base (End Site offset 0): SMPL's head
    # joint lies further up the neck-head line
    'head': _lerp('Neck', 'Head', 1.6),
})

_SMPL_TO_KINECT = _mirror_spec(
    {
        'ShoulderLeft': {'lsho': 1.0},
        'ElbowLeft': {'lelb': 1.0},
        'WristLeft': {'lwri': 1.0},
        'HandLeft': {'lhan': 1.0},
        'HandTipLeft': _lerp('lwri', 'lhan', 1.6),
        'ThumbLeft': _plus(_lerp('lwri', 'lhan', 1.2), _side('spi3', 'lhan',
                                                             0.05)),
        'HipLeft': {'lhip': 1.0},
        'KneeLeft': {'lkne': 1.0},
        'AnkleLeft': {'lank': 1.0},
        'FootLeft': {'ltoe': 1.0},
    },
    'smpl_24', 'kinectv2_25')
_SMPL_TO_KINECT.update({
    'SpineBase': {'pelv': 1.0},
    'SpineMid': _lerp('spi1', 'spi2', 0.5),
    'SpineShoulder': _lerp('spi3', 'neck', 0.7),
    'Neck': _lerp('neck', 'head', 0.4),
    # Kinect's Head is the head centre, above SMPL's head joint
    'Head': _lerp('neck', 'head', 1.4),
})

# COCO's face points are offsets from the head: up the neck-head line and
# sideways along the shoulder line (a linear map cannot see the facing
# direction, so they sit in the head's plane: an approximation).
_SMPL_TO_COCO = _mirror_spec(
    {
        'left_eye': _plus(_lerp('neck', 'head', 1.2), _side('lsho', 'rsho',
                                                            0.09)),
        'left_ear': _plus(_lerp('neck', 'head', 1.05), _side('lsho', 'rsho',
                                                             0.2)),
        'left_shoulder': {'lsho': 1.0},
        'left_elbow': {'lelb': 1.0},
        'left_wrist': {'lwri': 1.0},
        'left_hip': {'lhip': 1.0},
        'left_knee': {'lkne': 1.0},
        'left_ankle': {'lank': 1.0},
    },
    'smpl_24', 'coco')
_SMPL_TO_COCO['nose'] = _lerp('neck', 'head', 1.15)

# Kinect v1 (MSR Action3D) to SMPL: the spine joints are interpolated
# between the hip centre, the mid-spine and the shoulder centre.
_MSR_TO_SMPL = _mirror_spec(
    {
        'lhip': {'HipLeft': 1.0},
        'lkne': {'KneeLeft': 1.0},
        'lank': {'AnkleLeft': 1.0},
        'ltoe': {'FootLeft': 1.0},
        'lcla': _lerp('ShoulderCenter', 'ShoulderLeft', 0.5),
        'lsho': {'ShoulderLeft': 1.0},
        'lelb': {'ElbowLeft': 1.0},
        'lwri': {'WristLeft': 1.0},
        'lhan': {'HandLeft': 1.0},
    }, 'msr_action3d_20', 'smpl_24')
_MSR_TO_SMPL.update({
    'pelv': {'HipCenter': 1.0},
    'spi1': _lerp('HipCenter', 'Spine', 0.6),
    'spi2': _lerp('Spine', 'ShoulderCenter', 0.3),
    'spi3': _lerp('Spine', 'ShoulderCenter', 0.6),
    'neck': {'ShoulderCenter': 1.0},
    'head': {'Head': 1.0},
})


def _substitute(term: Dict[str, float], spec: Spec) -> Dict[str, float]:
    """A term over the target joints of ``spec`` rewritten over its source
    joints (composition at the level of names)."""
    return _plus(*({k: w * v for k, v in spec[name].items()}
                   for name, w in term.items()))


# Kinect v2 (NTU) to SMPL, for users without RGB videos: Kinect v1's map
# with the v1 spine joints renamed (HipCenter ~ SpineBase, Spine ~ SpineMid,
# ShoulderCenter ~ SpineShoulder; the limb joints share their names); neck
# and head invert _SMPL_TO_KINECT's Neck and Head exactly.
_KINECT_V1_TO_V2 = {'HipCenter': 'SpineBase', 'Spine': 'SpineMid',
                    'ShoulderCenter': 'SpineShoulder'}
_KINECT_TO_SMPL = {
    name: {_KINECT_V1_TO_V2.get(src, src): w for src, w in term.items()}
    for name, term in _MSR_TO_SMPL.items()
}
_KINECT_TO_SMPL.update({
    'neck': _lerp('Head', 'Neck', 1.4),
    'head': _lerp('Neck', 'Head', 0.6),
})

# Kinect v2 to MeTRAbs' SMPL-X 42: the body as SMPL (spine1-3 are bell, spin,
# thor); hands from the Kinect hand joints (middle knuckle ~ HandLeft,
# middle tip ~ HandTipLeft, thumb tip ~ ThumbLeft); face points as the COCO
# ones (eye balls = eyes); toes ahead of the ankle along the foot and
# sideways along the hip line, the heel below the ankle along the shin and
# behind it along the foot.
_KINECT_TO_SMPLX = {
    {'spi1': 'bell', 'spi2': 'spin', 'spi3': 'thor'}.get(name, name): term
    for name, term in _KINECT_TO_SMPL.items()
    if name not in ('lhan', 'rhan')
}
_face = {
    name: _substitute(_SMPL_TO_COCO[coco], _KINECT_TO_SMPL)
    for name, coco in (('leye', 'left_eye'), ('leyehf', 'left_eye'),
                       ('lear', 'left_ear'))
}
_KINECT_TO_SMPLX.update(_mirror_spec(
    dict(
        _face,
        lmiddle1={'HandLeft': 1.0},
        lmiddle={'HandTipLeft': 1.0},
        lthu={'ThumbLeft': 1.0},
        lto2=_plus(_lerp('AnkleLeft', 'FootLeft', 1.3),
                   _side('HipRight', 'HipLeft', 0.15)),
        lto3=_plus(_lerp('AnkleLeft', 'FootLeft', 1.1),
                   _side('HipLeft', 'HipRight', 0.2)),
        lhee=_plus(_lerp('KneeLeft', 'AnkleLeft', 1.1),
                   _side('AnkleLeft', 'FootLeft', 0.3))), 'kinectv2_25',
    'smplx_42'))
_KINECT_TO_SMPLX.update({
    'nose': _substitute(_SMPL_TO_COCO['nose'], _KINECT_TO_SMPL),
    'jaw': _lerp('Neck', 'Head', 0.3),
})

# Kinect v2 to the 43 Berkeley MHAD markers (as MeTRAbs names them): each
# marker at the anatomical point it is taped to, from the joints around it.
# Markers in front of and behind the body (chest/backt, bell/backl,
# lhipf/lhipb) land on the body's mid-plane: a linear map cannot know the
# facing direction.
_KINECT_TO_MHAD = _mirror_spec(
    {
        'lhead': _plus({'Head': 1.0}, _side('ShoulderLeft', 'ShoulderRight',
                                            0.25)),
        'lback': _plus(_lerp('SpineMid', 'SpineShoulder', 0.7),
                       _side('ShoulderLeft', 'ShoulderRight', 0.25)),
        'lside': _lerp('HipLeft', 'ShoulderLeft', 0.5),
        'lsho1': _lerp('SpineShoulder', 'ShoulderLeft', 0.7),
        'lsho2': {'ShoulderLeft': 1.0},
        'larm': _lerp('ShoulderLeft', 'ElbowLeft', 0.5),
        'lelb': {'ElbowLeft': 1.0},
        'lwri': {'WristLeft': 1.0},
        'lhan1': {'HandLeft': 1.0},
        'lhan2': {'HandTipLeft': 1.0},
        'lhan3': {'ThumbLeft': 1.0},
        'lhipb': _lerp('SpineBase', 'HipLeft', 0.6),
        'lhipf': _lerp('HipLeft', 'ShoulderLeft', 0.15),
        'lhipl': _plus({'HipLeft': 1.0}, _side('HipLeft', 'HipRight', 0.4)),
        'lleg': _lerp('HipLeft', 'KneeLeft', 0.5),
        'lkne': {'KneeLeft': 1.0},
        'lank': {'AnkleLeft': 1.0},
        'lhee': _KINECT_TO_SMPLX['lhee'],
        'lfoo': {'FootLeft': 1.0},
    }, 'kinectv2_25', 'berkeley_mhad_43')
_KINECT_TO_MHAD.update({
    'head': _lerp('Neck', 'Head', 1.3),
    'backt': {'SpineShoulder': 1.0},
    'chest': _lerp('SpineMid', 'SpineShoulder', 0.6),
    'backl': _lerp('SpineBase', 'SpineMid', 0.5),
    'bell': _lerp('SpineBase', 'SpineMid', 0.6),
})

BUILTIN_REGRESSORS: Dict[Tuple[str, str], Spec] = {
    ('bandai_bvh_22', 'smpl_24'): _BANDAI_TO_SMPL,
    ('msr_action3d_20', 'smpl_24'): _MSR_TO_SMPL,
    ('smpl_24', 'kinectv2_25'): _SMPL_TO_KINECT,
    ('smpl_24', 'nturgb+d'): _SMPL_TO_KINECT,
    ('smpl_24', 'coco'): _SMPL_TO_COCO,
    ('kinectv2_25', 'smpl_24'): _KINECT_TO_SMPL,
    ('kinectv2_25', 'smplx_42'): _KINECT_TO_SMPLX,
    ('kinectv2_25', 'berkeley_mhad_43'): _KINECT_TO_MHAD,
}


class JointRegressor:
    """A linear map from the joints of one layout to those of another.

    Args:
        source (str | dict | SkeletonLayout): The layout of the input.
        target (str | dict | SkeletonLayout): The layout of the output.
        spec (dict): ``{target joint: {source joint: weight}}`` with every
            target joint present.

    Example:
        >>> reg = JointRegressor.between('bandai_bvh_22', 'kinectv2_25')
        >>> kinect = reg(bvh_positions)  # (..., 22, C) -> (..., 25, C)
    """

    def __init__(self, source: LayoutLike, target: LayoutLike,
                 spec: Spec) -> None:
        self.source = get_layout(source)
        self.target = get_layout(target)
        missing = set(self.target.joint_names) - set(spec)
        if missing:
            raise KeyError(f'regressor {self.source.name} -> '
                           f'{self.target.name} lacks target joints '
                           f'{sorted(missing)}')
        weights = np.zeros((self.target.num_joints, self.source.num_joints))
        for tgt, terms in spec.items():
            for src, w in terms.items():
                weights[self.target.index(tgt), self.source.index(src)] += w
        self.weights = weights

    @classmethod
    def from_matrix(cls, source: LayoutLike, target: LayoutLike,
                    weights: np.ndarray) -> 'JointRegressor':
        reg = cls.__new__(cls)
        reg.source, reg.target = get_layout(source), get_layout(target)
        expected = (reg.target.num_joints, reg.source.num_joints)
        if weights.shape != expected:
            raise ValueError(f'regressor matrix of shape {weights.shape}, '
                             f'expected {expected}')
        reg.weights = np.asarray(weights, dtype=np.float64)
        return reg

    @classmethod
    def between(cls, source: LayoutLike, target: LayoutLike) -> 'JointRegressor':
        """The regressor from ``source`` to ``target``, composed along the
        shortest chain of built-in specs and name-for-name copies.

        A name-for-name copy goes from layout A to layout B when every joint
        of B has exactly one joint of A with the same name or alias (see
        ``aliases`` of :class:`SkeletonLayout`). So a user layout with the
        Kinect v1 joint names, in any order, reaches ``coco`` through
        ``msr_action3d_20 -> smpl_24 -> coco``.

        Example:
            >>> get_layout('utk/kinect_v1_20.yaml')  # Kinect v1 names
            >>> JointRegressor.between('kinect_v1_20', 'coco')
        """
        src, tgt = get_layout(source).name, get_layout(target).name
        if src == tgt:
            return cls.from_matrix(src, tgt, np.eye(get_layout(src).num_joints))
        path = _find_path(src, tgt)
        reg = None
        for a, b in zip(path, path[1:]):
            step = cls(a, b, _spec(a, b))
            reg = step if reg is None else step @ reg
        return reg

    def __matmul__(self, other: 'JointRegressor') -> 'JointRegressor':
        """Composition: ``(self @ other)(x) == self(other(x))``."""
        if other.target.name != self.source.name:
            raise ValueError(f'cannot compose {other.source.name} -> '
                             f'{other.target.name} with {self.source.name} -> '
                             f'{self.target.name}')
        return JointRegressor.from_matrix(other.source, self.target,
                                          self.weights @ other.weights)

    def __call__(self, keypoint: np.ndarray) -> np.ndarray:
        """Map ``(..., V_source, C)`` to ``(..., V_target, C)``."""
        if keypoint.shape[-2] != self.source.num_joints:
            raise ValueError(f'expected {self.source.num_joints} joints of '
                             f'{self.source.name}, got shape {keypoint.shape}')
        # a broadcast matmul: several times faster than the equivalent einsum
        out = self.weights.astype(keypoint.dtype, copy=False) @ keypoint
        return out.astype(keypoint.dtype, copy=False)


def name_spec(source: str, target: str) -> Optional[Spec]:
    """The name-for-name copy from ``source`` to ``target`` (layout names),
    or None unless every target joint has exactly one source joint of the
    same name or alias."""
    src, tgt = layout_spec(source), layout_spec(target)

    def keys(spec, joint):
        extra = (spec.get('aliases') or {}).get(joint, ())
        return {joint, *([extra] if isinstance(extra, str) else extra)}

    owners: Dict[str, set] = {}
    for joint in src['joint_names']:
        for key in keys(src, joint):
            owners.setdefault(key, set()).add(joint)
    spec = {}
    for joint in tgt['joint_names']:
        found = set().union(*(owners.get(k, set()) for k in keys(tgt, joint)))
        if len(found) != 1:
            return None
        spec[joint] = {found.pop(): 1.0}
    return spec


def _spec(src: str, tgt: str) -> Spec:
    return BUILTIN_REGRESSORS.get((src, tgt)) or name_spec(src, tgt)


def _find_path(src: str, tgt: str) -> List[str]:
    """Shortest chain of built-in specs and name-for-name copies (built-in
    steps first among equals)."""
    nodes = sorted(set(list_layouts()) | {src, tgt})
    frontier, seen = [[src]], {src}
    while frontier:
        nxt = []
        for path in frontier:
            here = path[-1]
            steps = [b for (a, b) in BUILTIN_REGRESSORS if a == here] + [
                b for b in nodes
                if b != here and name_spec(here, b) is not None
            ]
            for b in steps:
                if b in seen:
                    continue
                if b == tgt:
                    return path + [b]
                seen.add(b)
                nxt.append(path + [b])
        frontier = nxt
    raise KeyError(
        f'no built-in regressor chain from {src} to {tgt}, and no chain '
        'through layouts whose joint names (or aliases) match; give the '
        f'joints of {src} the names of a built-in layout (or aliases=...), '
        f'see docs/skeletons.md. Built-in specs: {sorted(BUILTIN_REGRESSORS)}')
