"""Deriving one skeleton convention from another: linear joint regressors.

A regressor writes every target joint as a weighted sum of source joints,
by name. Weights summing to 1 keep the result translation-equivariant;
"virtual" joints extrapolate along a bone (e.g. a hand tip as
``1.6 * hand - 0.6 * wrist``). Regressors compose, so a chain such as
``bandai_bvh_22 -> smpl_24 -> kinectv2_25`` needs no spec of its own.

The built-in specs are hand-made geometric approximations (documented in
docs/skeletons.md); they let one real motion (mocap) or one synthetic body
appear in several conventions. They are not learned regressors.
"""
from typing import Dict, List, Tuple

import numpy as np

from .registry import LayoutLike, get_layout

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


def _mirror_spec(left: Spec, source: str, target: str) -> Spec:
    """Add the right-side entries by mirroring names through both layouts'
    flip permutations."""
    src, tgt = get_layout(source), get_layout(target)

    def swap(layout, name):
        return layout.joint_names[layout.flip[layout.index(name)]]

    spec = dict(left)
    for name, weights in left.items():
        spec[swap(tgt, name)] = {swap(src, k): v for k, v in weights.items()}
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

BUILTIN_REGRESSORS: Dict[Tuple[str, str], Spec] = {
    ('bandai_bvh_22', 'smpl_24'): _BANDAI_TO_SMPL,
    ('msr_action3d_20', 'smpl_24'): _MSR_TO_SMPL,
    ('smpl_24', 'kinectv2_25'): _SMPL_TO_KINECT,
    ('smpl_24', 'nturgb+d'): _SMPL_TO_KINECT,
    ('smpl_24', 'coco'): _SMPL_TO_COCO,
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
        """The built-in regressor, composed along a chain when needed."""
        src, tgt = get_layout(source).name, get_layout(target).name
        if src == tgt:
            return cls.from_matrix(src, tgt, np.eye(get_layout(src).num_joints))
        path = _find_path(src, tgt)
        reg = cls(path[0], path[1], BUILTIN_REGRESSORS[(path[0], path[1])])
        for a, b in zip(path[1:], path[2:]):
            reg = cls(a, b, BUILTIN_REGRESSORS[(a, b)]) @ reg
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


def _find_path(src: str, tgt: str) -> List[str]:
    frontier, seen = [[src]], {src}
    while frontier:
        nxt = []
        for path in frontier:
            for (a, b) in BUILTIN_REGRESSORS:
                if a == path[-1] and b not in seen:
                    if b == tgt:
                        return path + [b]
                    seen.add(b)
                    nxt.append(path + [b])
        frontier = nxt
    raise KeyError(f'no built-in regressor chain from {src} to {tgt}; '
                   f'available: {sorted(BUILTIN_REGRESSORS)}')
