"""SYNTHETIC multi-convention skeleton clips: the project's embedded default data.

A procedural generator, not recorded motion. An articulated body in the
``smpl_24`` layout (bones built by joint name, proportions varying per
subject) is driven by per-class joint-rotation patterns through forward
kinematics, placed in a Kinect-like camera frame (Y up, Z depth, metres),
and rendered into several skeleton conventions with the built-in
:class:`~msclr_plugin.skeletons.JointRegressor`, each convention with the
errors of its own kind of estimator (jitter, bone-length bias, lag, dropped
joints, depth noise). See docs/synthetic_data.md.

Every random draw of a clip comes from a generator seeded with
``(seed, subject, class, repetition[, convention])``, so a clip is the same
whatever the other clips or conventions of the store.
"""
import time
import zlib
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from msclr_plugin.skeletons import JointRegressor, get_layout

BODY_LAYOUT = 'smpl_24'
FPS = 30.0
CLASSES = ('wave_right_hand', 'punch', 'kick', 'squat', 'jump', 'bow', 'clap', 'walk',
           'raise_both_hands', 'turn', 'raise_right_hand', 'throw')

# Rest pose (standing, arms hanging), for a 1.75 m body facing +Z with its
# left side on +X: each joint's offset from its kinematic parent, by name.
# Groups are scaled together per subject.
_REST_OFFSETS = {
    'lhip': ((0.09, -0.08, 0.0), 'hips'),
    'lkne': ((0.0, -0.40, 0.01), 'legs'),
    'lank': ((0.0, -0.40, -0.03), 'legs'),
    'ltoe': ((0.0, -0.06, 0.13), 'feet'),
    'spi1': ((0.0, 0.11, -0.01), 'torso'),
    'spi2': ((0.0, 0.14, 0.01), 'torso'),
    'spi3': ((0.0, 0.06, 0.01), 'torso'),
    'neck': ((0.0, 0.21, -0.02), 'torso'),
    'head': ((0.0, 0.10, 0.04), 'head'),
    'lcla': ((0.07, 0.12, -0.01), 'shoulders'),
    'lsho': ((0.12, 0.03, -0.01), 'shoulders'),
    'lelb': ((0.03, -0.27, 0.0), 'arms'),
    'lwri': ((0.0, -0.25, 0.01), 'arms'),
    'lhan': ((0.0, -0.08, 0.01), 'hands'),
}
_REFERENCE_HEIGHT = 1.75
_SOLE_HEIGHT = 0.05  # lowest foot joint above the floor while standing

# Per-convention error models: each convention behaves like a different
# estimator, with its own kinds of error, not just its own noise level (see
# docs/synthetic_data.md). Keys (a range is drawn per clip):
# - 'jitter': std (m) of i.i.d. per joint and frame noise; 'smooth': frames
#   of the moving average applied to it (temporally correlated error);
# - 'depth': std (m) of extra noise along the camera's Z (depth poorly
#   known), smoothed over 3 frames;
# - 'bone_bias': std of a SYSTEMATIC relative error of every bone's length,
#   drawn once per convention (the same for all clips): the estimator's
#   skeleton is not the body's; 'scale': std of a per-clip relative scale;
# - 'lag': frames (fractional allowed) by which the output trails the motion
#   (temporal filtering of video estimators);
# - 'drop': probability per frame that a leaf joint (hand, foot, head...)
#   loses tracking and holds its last position for 'drop_len' frames
#   (occlusions of a depth sensor's tracker).
ERROR_MODELS = {
    'kinectv2_25':
    dict(jitter=(0.01, 0.02), smooth=1, depth=0.0, bone_bias=0.04, scale=0.0, lag=0.0,
         drop=0.02, drop_len=(3, 10)),
    'smpl_24':
    dict(jitter=(0.015, 0.025), smooth=5, depth=0.0, bone_bias=0.06, scale=0.03,
         lag=2.0, drop=0.0, drop_len=(3, 10)),
    'coco':
    dict(jitter=(0.015, 0.025), smooth=1, depth=(0.04, 0.08), bone_bias=0.08, scale=0.03,
         lag=1.0, drop=0.01, drop_len=(2, 6)),
}
_DEFAULT_ERRORS = ERROR_MODELS['kinectv2_25']
NO_ERRORS = dict(jitter=0.0, smooth=1, depth=0.0, bone_bias=0.0, scale=0.0, lag=0.0,
                 drop=0.0, drop_len=(1, 1))
# Probability and weight range of a weak second movement from another class.
DISTRACTOR_PROB = 0.8
DISTRACTOR_WEIGHT = (0.4, 0.8)


def euler_to_matrix(angles: np.ndarray) -> np.ndarray:
    """``(..., 3)`` angles (x, y, z) in radians -> ``(..., 3, 3)`` matrices
    ``Ry @ Rx @ Rz`` (roll about Z first, then pitch, then yaw)."""
    cx, cy, cz = np.cos(angles).transpose(-1, *range(angles.ndim - 1))
    sx, sy, sz = np.sin(angles).transpose(-1, *range(angles.ndim - 1))
    zero, one = np.zeros_like(cx), np.ones_like(cx)
    rx = np.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], -1)
    ry = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1)
    rz = np.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], -1)
    shape = angles.shape[:-1] + (3, 3)
    return ry.reshape(shape) @ rx.reshape(shape) @ rz.reshape(shape)


def pelvis_tree(layout) -> Tuple[np.ndarray, List[int]]:
    """The layout's edge tree re-rooted at its pelvis role: ``(parents,
    order)``, ``order`` listing every joint after its parent. The layout's
    own ``parents`` point toward its graph centre, which suits bone
    features, not forward kinematics."""
    root = layout.role('pelvis')[0]
    dist = layout.hop_distance[root]
    parents = np.arange(layout.num_joints)
    for v, nbrs in enumerate(layout.neighbours()):
        if v != root:
            parents[v] = min(w for w in nbrs if dist[w] == dist[v] - 1)
    return parents, [int(v) for v in np.argsort(dist, kind='stable')]


class SyntheticBody:
    """The kinematic tree of ``smpl_24`` rooted at the pelvis, by name
    (:func:`pelvis_tree`)."""

    def __init__(self) -> None:
        layout = get_layout(BODY_LAYOUT)
        self.layout = layout
        self.root = layout.role('pelvis')[0]
        self.parents, self.order = pelvis_tree(layout)
        self.idx = {n: i for i, n in enumerate(layout.joint_names)}
        mirror = layout.flip
        self._mirror = {n: layout.joint_names[mirror[i]] for n, i in self.idx.items()}

    def rest_offsets(self, rng: np.random.Generator) -> Tuple[np.ndarray, float]:
        """Per-subject bone offsets ``(V, 3)`` and body height in metres."""
        height = rng.uniform(1.5, 1.9)
        groups = {g for _, g in _REST_OFFSETS.values()}
        factor = {g: rng.uniform(0.92, 1.08) for g in sorted(groups)}
        offsets = np.zeros((self.layout.num_joints, 3))
        for name, (vec, group) in _REST_OFFSETS.items():
            vec = np.asarray(vec) * factor[group] * height / _REFERENCE_HEIGHT
            offsets[self.idx[name]] = vec
            offsets[self.idx[self._mirror[name]]] = vec * (-1, 1, 1)
        return offsets, height

    def forward(self, offsets: np.ndarray, local: np.ndarray, root_rot: np.ndarray,
                root_pos: np.ndarray) -> np.ndarray:
        """Forward kinematics, vectorised over frames.

        Args:
            offsets (np.ndarray): ``(V, 3)`` bone offsets from the parent.
            local (np.ndarray): ``(T, V, 3, 3)`` local joint rotations.
            root_rot (np.ndarray): ``(T, 3, 3)`` global rotation of the root.
            root_pos (np.ndarray): ``(T, 3)`` root position.

        Returns:
            np.ndarray: ``(T, V, 3)`` joint positions.
        """
        num_frames, num_joints = local.shape[:2]
        glob = np.empty((num_frames, num_joints, 3, 3))
        pos = np.empty((num_frames, num_joints, 3))
        for j in self.order:
            if j == self.root:
                glob[:, j] = root_rot @ local[:, j]
                pos[:, j] = root_pos
            else:
                p = self.parents[j]
                glob[:, j] = glob[:, p] @ local[:, j]
                pos[:, j] = pos[:, p] + glob[:, p] @ offsets[j]
        return pos


def _ramp(x: np.ndarray) -> np.ndarray:
    """Smoothstep from 0 (x <= 0) to 1 (x >= 1)."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _bump(t: np.ndarray, start: float, dur: float, hold: float = 0.3) -> np.ndarray:
    """0 -> 1 -> 0 over ``[start, start + dur]``, flat top ``hold * dur``."""
    edge = max(dur * (1 - hold) / 2, 1e-3)
    return _ramp((t - start) / edge) * (1 - _ramp((t - start - dur + edge) / edge))


def _pulses(t: np.ndarray, start: float, dur: float, n: int) -> np.ndarray:
    """``n`` sharp bumps evenly spread over ``[start, start + dur]``."""
    out = np.zeros_like(t)
    width = dur / n
    for k in range(n):
        out = np.maximum(out, _bump(t, start + k * width, width * 0.8, 0.2))
    return out


class _Motion:
    """Joint angles and root trajectory of one clip, filled by a pattern."""

    def __init__(self, body: SyntheticBody, num_frames: int,
                 rng: np.random.Generator) -> None:
        self.body = body
        self.rng = rng
        self.t = np.arange(num_frames) / FPS
        self.ang = np.zeros((num_frames, body.layout.num_joints, 3))
        self.yaw = np.zeros(num_frames)
        self.forward = np.zeros(num_frames)  # along the body's facing
        self.lift = np.zeros(num_frames)  # airborne height

    def add(self, joint: str, axis: int, value) -> None:
        self.ang[:, self.body.idx[joint], axis] += value

    def add_pair(self, left: str, axis: int, value, mirror_sign: float):
        """Add to a left joint and its mirror; Y and Z rotations change sign
        under the left/right mirror (``mirror_sign=-1``), X ones do not."""
        self.add(left, axis, value)
        self.add(self.body._mirror[left], axis, mirror_sign * value)


def _idle(m: _Motion) -> None:
    """Per-clip resting posture and slow sway shared by all classes."""
    rng, t = m.rng, m.t
    m.add_pair('lsho', 2, rng.uniform(0.0, 0.5), -1)
    m.add_pair('lsho', 0, rng.uniform(-0.4, 0.2), 1)
    m.add_pair('lelb', 0, -rng.uniform(0.0, 1.2), 1)
    m.add_pair('lhip', 2, rng.uniform(0.0, 0.12), -1)
    m.add_pair('lkne', 0, rng.uniform(0.0, 0.3), 1)
    m.add('spi1', 0, rng.uniform(-0.1, 0.15))
    m.add('spi1', 2, rng.uniform(-0.1, 0.1))
    for joint in ('spi1', 'spi2', 'neck'):
        f, ph = rng.uniform(0.2, 0.5), rng.uniform(0, 2 * np.pi)
        m.add(joint, 0, 0.03 * np.sin(2 * np.pi * f * t + ph))
        m.add(joint, 2, 0.03 * np.sin(2 * np.pi * f * t + ph * 1.7))
    m.add('head', 0, rng.uniform(-0.15, 0.15))
    m.add('head', 1, rng.uniform(-0.3, 0.3))


def _wave(m, amp, speed, start, dur):
    raise_ = _ramp((m.t - start) / 0.3)
    m.add('rsho', 2, -1.5 * raise_ * min(amp, 1.1))
    f = 1.8 * speed
    osc = np.sin(2 * np.pi * f * (m.t - start))
    m.add('relb', 2, raise_ * (-1.3 + 0.5 * amp * osc))


def _punch(m, amp, speed, start, dur):
    guard = _ramp((m.t - start) / 0.25)
    m.add_pair('lsho', 0, -0.5 * guard, 1)
    m.add_pair('lelb', 0, -2.0 * guard, 1)
    n = m.rng.integers(1, 3)
    right = _pulses(m.t, start + 0.2, dur - 0.2, n)
    left = _pulses(m.t, start + 0.2 + (dur - 0.2) / (2 * n), dur - 0.2, n)
    for side, p in (('rsho', right), ('lsho', left)):
        elb = side.replace('sho', 'elb')
        m.add(side, 0, -1.0 * amp * p)
        m.add(elb, 0, 2.0 * p * min(amp, 1.0))
    m.add('spi2', 1, 0.25 * (right - left))


def _kick(m, amp, speed, start, dur):
    b = _bump(m.t, start, dur, 0.1)
    m.add('rhip', 0, -1.3 * amp * b)
    m.add('rkne', 0, 1.4 * b * (1 - b) * 4 * 0.6)
    m.add_pair('lsho', 2, 0.4 * b, -1)
    m.add('spi1', 0, -0.15 * b)


def _squat(m, amp, speed, start, dur):
    n = m.rng.integers(1, 3)
    b = _pulses(m.t, start, dur, n)
    depth = min(amp, 1.1)
    m.add_pair('lhip', 0, -1.3 * depth * b, 1)
    m.add_pair('lkne', 0, 2.0 * depth * b, 1)
    m.add_pair('lank', 0, -0.7 * depth * b, 1)
    m.add('spi1', 0, 0.3 * b)
    m.add_pair('lsho', 0, -1.2 * b, 1)


def _jump(m, amp, speed, start, dur):
    crouch = _bump(m.t, start, dur * 0.4, 0.1)
    land = _bump(m.t, start + dur * 0.7, dur * 0.3, 0.1)
    bend = np.maximum(crouch, land)
    m.add_pair('lhip', 0, -0.8 * bend, 1)
    m.add_pair('lkne', 0, 1.3 * bend, 1)
    m.add_pair('lank', 0, -0.5 * bend, 1)
    flight = np.clip((m.t - start - dur * 0.4) / (dur * 0.3), 0, 1)
    m.lift += 0.25 * amp * np.sin(np.pi * flight)
    m.add_pair('lsho', 0, -2.2 * np.sin(np.pi * flight) * min(amp, 1.0), 1)


def _bow(m, amp, speed, start, dur):
    b = _bump(m.t, start, dur, 0.4)
    for joint in ('spi1', 'spi2', 'spi3'):
        m.add(joint, 0, 0.35 * amp * b)
    m.add('lhip', 0, -0.3 * b)
    m.add('rhip', 0, -0.3 * b)
    m.add('neck', 0, 0.3 * b)


def _clap(m, amp, speed, start, dur):
    up = _ramp((m.t - start) / 0.3)
    m.add_pair('lsho', 0, -1.1 * up, 1)
    m.add_pair('lelb', 0, -0.6 * up, 1)
    osc = 0.5 * (1 - np.cos(2 * np.pi * 1.6 * speed * (m.t - start)))
    m.add_pair('lsho', 1, -up * (0.05 + 0.45 * min(amp, 1.0) * osc), -1)


def _walk(m, amp, speed, start, dur):
    on = _ramp((m.t - start) / 0.4)
    f = 0.9 * speed
    ph = 2 * np.pi * f * (m.t - start)
    swing = 0.45 * min(amp, 1.1) * on * np.sin(ph)
    m.add('lhip', 0, -swing)
    m.add('rhip', 0, swing)
    m.add('lkne', 0, 0.7 * on * np.clip(np.sin(ph + 1.2), 0, None))
    m.add('rkne', 0, 0.7 * on * np.clip(-np.sin(ph + 1.2), 0, None))
    m.add('lsho', 0, 0.6 * swing)
    m.add('rsho', 0, -0.6 * swing)
    m.forward += np.cumsum(on) / FPS * 1.1 * f * min(amp, 1.2)


def _raise_both(m, amp, speed, start, dur):
    b = _bump(m.t, start, dur, 0.5) if m.rng.random() < 0.5 else _ramp(
        (m.t - start) / (0.4 * dur))
    m.add_pair('lsho', 2, 2.6 * min(amp, 1.1) * b, -1)
    m.add_pair('lelb', 2, 0.3 * b, -1)


def _turn(m, amp, speed, start, dur):
    sign = m.rng.choice((-1.0, 1.0))
    b = _ramp((m.t - start) / dur)
    m.yaw += sign * np.pi * m.rng.uniform(0.5, 1.0) * b
    step = np.sin(np.pi * 4 * b) * (b < 1) * (b > 0)
    m.add('lhip', 0, -0.3 * np.clip(step, 0, None))
    m.add('lkne', 0, 0.5 * np.clip(step, 0, None))
    m.add('rhip', 0, -0.3 * np.clip(-step, 0, None))
    m.add('rkne', 0, 0.5 * np.clip(-step, 0, None))


def _raise_right(m, amp, speed, start, dur):
    b = _bump(m.t, start, dur, 0.5) if m.rng.random() < 0.5 else _ramp(
        (m.t - start) / (0.4 * dur))
    m.add('rsho', 2, -2.6 * min(amp, 1.1) * b)
    m.add('relb', 2, -0.3 * b)


def _throw(m, amp, speed, start, dur):
    windup = _bump(m.t, start, dur * 0.6, 0.3)
    release = _bump(m.t, start + dur * 0.45, dur * 0.35, 0.1)
    m.add('rsho', 0, 0.9 * windup - 2.0 * min(amp, 1.1) * release)
    m.add('rsho', 2, -0.6 * windup)
    m.add('relb', 0, -1.6 * windup)
    m.add('spi2', 1, -0.4 * windup + 0.3 * release)
    m.add('spi1', 0, 0.25 * release)


_PATTERNS = dict(
    zip(CLASSES, (_wave, _punch, _kick, _squat, _jump, _bow, _clap, _walk, _raise_both,
                  _turn, _raise_right, _throw)))


def _rng(*keys: int) -> np.random.Generator:
    return np.random.default_rng([int(k) for k in keys])


def _convention_key(name: str) -> int:
    return zlib.crc32(name.encode())


def _moving_average(x: np.ndarray, width: int) -> np.ndarray:
    """Moving average over axis 0 (edge-padded), times ``sqrt(width)`` so
    that filtered white noise keeps its standard deviation."""
    if width <= 1:
        return x
    pad = width // 2
    xp = np.pad(x, [(pad, width - 1 - pad)] + [(0, 0)] * (x.ndim - 1), mode='edge')
    csum = np.cumsum(xp, axis=0)
    csum = np.concatenate([np.zeros_like(csum[:1]), csum])
    return (csum[width:] - csum[:-width]) / np.sqrt(width)


def _sample(rng, spec) -> float:
    return rng.uniform(*spec) if isinstance(spec, (tuple, list)) else spec


class SyntheticGenerator:
    """Procedural SYNTHETIC motions in several skeleton conventions.

    Args:
        conventions (Sequence[str]): Target layouts; each must be reachable
            by ``JointRegressor.between('smpl_24', name)``.
        num_person (int): 1, or 2 to pad a zero second person (as in NTU).
        seed (int): Base seed.
        errors (dict, optional): Per-convention error models overriding
            :data:`ERROR_MODELS` (missing keys: no such error).
    """

    def __init__(self,
                 conventions: Sequence[str] = ('kinectv2_25', 'smpl_24', 'coco'),
                 num_person: int = 2,
                 seed: int = 0,
                 errors: Optional[Dict[str, dict]] = None) -> None:
        if num_person not in (1, 2):
            raise ValueError(f'num_person must be 1 or 2, got {num_person}')
        if not conventions:
            raise ValueError('no conventions asked for')
        self.body = SyntheticBody()
        self.conventions = list(conventions)
        self.num_person = num_person
        self.seed = int(seed)
        self.regressors = {
            c: JointRegressor.between(BODY_LAYOUT, c)
            for c in self.conventions
        }
        models = dict(ERROR_MODELS, **(errors or {}))
        self.errors = {c: dict(NO_ERRORS, **models.get(c, _DEFAULT_ERRORS))
                       for c in conventions}
        self._trees = {c: self._chains(get_layout(c)) for c in conventions}
        self._leaves = {c: [v for v, nbrs in enumerate(get_layout(c).neighbours())
                            if len(nbrs) == 1] for c in conventions}
        self._bias = {}
        self._subjects = {}

    def subject(self, subject: int) -> Tuple[np.ndarray, float]:
        if subject not in self._subjects:
            self._subjects[subject] = self.body.rest_offsets(_rng(self.seed, subject))
        return self._subjects[subject]

    def motion(self, subject: int, label: int, rep: int) -> np.ndarray:
        """Clean ``(T, 24, 3)`` smpl_24 positions in the camera frame."""
        rng = _rng(self.seed, subject, label, rep)
        offsets, _ = self.subject(subject)
        num_frames = int(rng.integers(40, 81))
        m = _Motion(self.body, num_frames, rng)
        _idle(m)
        total = num_frames / FPS
        speed = rng.uniform(0.75, 1.3)
        amp = rng.uniform(0.5, 1.3)
        start = rng.uniform(0.0, 0.4) * total
        dur = (total - start) * rng.uniform(0.65, 1.0)
        _PATTERNS[CLASSES[label]](m, amp, speed, start, dur)
        if rng.random() < DISTRACTOR_PROB:
            # a weak movement of another class on top (intra-class variety)
            other = _Motion(self.body, num_frames, rng)
            name = rng.choice([c for c in CLASSES if c != CLASSES[label]])
            _PATTERNS[name](other, rng.uniform(0.7, 1.2), rng.uniform(0.75, 1.3),
                            rng.uniform(0.0, 0.5) * total,
                            total * rng.uniform(0.3, 0.5))
            weight = rng.uniform(*DISTRACTOR_WEIGHT)
            for key in ('ang', 'yaw', 'forward', 'lift'):
                setattr(m, key, getattr(m, key) + weight * getattr(other, key))

        local = euler_to_matrix(m.ang)
        yaw = m.yaw + np.pi + rng.uniform(-np.pi / 4, np.pi / 4)
        zeros = np.zeros_like(yaw)
        root_rot = euler_to_matrix(np.stack([zeros, yaw, zeros], -1))
        pos = self.body.forward(offsets, local, root_rot, np.zeros((num_frames, 3)))
        # walk along the facing direction; feet keep contact with the floor
        facing = root_rot @ np.array([0.0, 0.0, 1.0])
        pos += (m.forward[:, None] * facing)[:, None]
        feet = [self.body.idx[n] for n in ('lank', 'rank', 'ltoe', 'rtoe')]
        sole = pos[:, feet, 1].min(axis=1)
        pos[..., 1] += (_SOLE_HEIGHT - sole + m.lift)[:, None]
        # camera: floor below the sensor, subject 2.5-3.5 m away, small tilt
        tilt = euler_to_matrix(np.array([np.deg2rad(rng.uniform(-5, 5)), 0.0, 0.0]))
        shift = np.array(
            [rng.uniform(-0.5, 0.5), -rng.uniform(0.8, 1.1),
             rng.uniform(2.5, 3.5)])
        return pos @ tilt.T + shift

    def render(self, positions: np.ndarray, subject: int, label: int,
               rep: int) -> Dict[str, np.ndarray]:
        """Each convention of a clip as ``(M, T, V, 3)`` float32, with that
        convention's errors (:data:`ERROR_MODELS`)."""
        out = {}
        for conv in self.conventions:
            kp = self.estimate(conv, self.regressors[conv](positions),
                               _rng(self.seed, subject, label, rep, _convention_key(conv)))
            persons = np.zeros((self.num_person, ) + kp.shape, np.float32)
            persons[0] = kp
            out[conv] = persons
        return out

    @staticmethod
    def _chains(layout) -> Tuple[np.ndarray, np.ndarray]:
        """Parents (:func:`pelvis_tree`) and the ``(V, V)`` matrix whose row
        ``j`` marks the joints whose bone (to their parent) lies on the path
        from the root to ``j``."""
        parents, order = pelvis_tree(layout)
        chains = np.zeros((layout.num_joints, layout.num_joints))
        for j in order:
            if parents[j] != j:
                chains[j] = chains[parents[j]]
                chains[j, j] = 1
        return parents, chains

    def bone_bias(self, conv: str) -> np.ndarray:
        """``(V,)`` systematic relative error of the length of the bone from
        each joint's parent (:func:`pelvis_tree`) in convention ``conv``:
        the same for every clip."""
        if conv not in self._bias:
            rng = _rng(self.seed, _convention_key(conv), 1)
            spec = self.errors[conv]
            self._bias[conv] = rng.normal(0, spec['bone_bias'],
                                          get_layout(conv).num_joints)
        return self._bias[conv]

    def estimate(self, conv: str, kp: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
        """Apply convention ``conv``'s error model to its clean ``(T, V, 3)``
        joints: bone-length bias, per-clip scale, lag, dropped joints,
        jitter, depth noise (in this order)."""
        spec = self.errors[conv]
        kp = np.array(kp, dtype=np.float64)
        if spec['bone_bias']:
            # each joint moves by the bias of every bone between it and the
            # root: out[j] = kp[j] + sum over those bones of b * bone vector
            parents, chains = self._trees[conv]
            bones = (kp - kp[:, parents]) * self.bone_bias(conv)[:, None]
            kp = kp + np.einsum('ja,tac->tjc', chains, bones)
        if spec['scale']:
            centre = kp.mean(axis=(0, 1), keepdims=True)
            kp = centre + (kp - centre) * (1 + rng.normal(0, spec['scale']))
        lag = _sample(rng, spec['lag'])
        if lag:
            # the output at t shows the motion at t - lag (edge held)
            src = np.clip(np.arange(len(kp)) - lag, 0, len(kp) - 1)
            lo = np.floor(src).astype(int)
            hi = np.minimum(lo + 1, len(kp) - 1)
            w = (src - lo)[:, None, None]
            kp = (1 - w) * kp[lo] + w * kp[hi]
        if spec['drop']:
            kp = kp.copy()
            for j in self._leaves[conv]:
                starts = np.flatnonzero(rng.random(len(kp)) < spec['drop'])
                for t in starts[starts > 0]:
                    length = int(rng.integers(spec['drop_len'][0], spec['drop_len'][1] + 1))
                    kp[t:t + length, j] = kp[t - 1, j]
        noise = rng.normal(0, _sample(rng, spec['jitter']), kp.shape)
        noise = _moving_average(noise, int(spec['smooth']))
        depth = _sample(rng, spec['depth'])
        if depth:
            noise[..., 2] += _moving_average(rng.normal(0, depth, kp.shape[:-1]), 3)
        return (kp + noise).astype(np.float32)

    def clip(self, subject: int, label: int, rep: int) -> Dict[str, np.ndarray]:
        return self.render(self.motion(subject, label, rep), subject, label, rep)


def clip_name(subject: int, label: int, rep: int) -> str:
    """NTU-like name: ``SYN_P{subject:03d}A{class+1:03d}R{rep+1:03d}``."""
    return f'SYN_P{subject:03d}A{label + 1:03d}R{rep + 1:03d}'


def generate_synthetic_store(out_dir: str,
                             num_clips_per_class_per_subject: int = 8,
                             conventions: Sequence[str] = ('kinectv2_25', 'smpl_24',
                                                           'coco'),
                             seed: int = 0,
                             num_subjects: int = 20,
                             num_train_subjects: Optional[int] = None,
                             num_person: int = 2,
                             classes: Optional[Sequence[str]] = None) -> str:
    """Write a SYNTHETIC multi-convention skeleton store.

    Args:
        out_dir (str): The store directory (created).
        num_clips_per_class_per_subject (int): Repetitions per (subject,
            class). Defaults to 8 (1920 clips with the defaults).
        conventions (Sequence[str]): Conventions to render.
        seed (int): Base seed; the store is a function of the arguments.
        num_subjects (int): Subjects 1..N. Defaults to 20.
        num_train_subjects (int, optional): The first subjects form
            ``xsub_train``, the rest ``xsub_val``. Defaults to 70 percent
            (14 of 20).
        num_person (int): 2 pads a zero second person like NTU; or 1.
        classes (Sequence[str], optional): A subset of :data:`CLASSES`.

    Returns:
        str: The path of the written ``index.json``.
    """
    from msclr_plugin.datasets.store import SkeletonStoreWriter
    classes = list(classes or CLASSES)
    unknown = sorted(set(classes) - set(CLASSES))
    if unknown:
        raise ValueError(f'unknown synthetic classes {unknown}; known: '
                         f'{list(CLASSES)}')
    if num_subjects < 2:
        raise ValueError('need at least 2 subjects for a train/val split')
    if num_train_subjects is None:
        num_train_subjects = max(1, min(num_subjects - 1, round(0.7 * num_subjects)))
    gen = SyntheticGenerator(conventions, num_person=num_person, seed=seed)
    writer = SkeletonStoreWriter(out_dir, {c: c for c in conventions})
    splits: Dict[str, List[int]] = {'xsub_train': [], 'xsub_val': []}
    subjects = []
    tic = time.perf_counter()
    for subject in range(1, num_subjects + 1):
        split = 'xsub_train' if subject <= num_train_subjects else 'xsub_val'
        for label, name in enumerate(classes):
            cls_id = CLASSES.index(name)
            for rep in range(num_clips_per_class_per_subject):
                idx = writer.add(
                    clip_name(subject, cls_id, rep), label,
                    gen.clip(subject, cls_id, rep))
                splits[split].append(idx)
                subjects.append(subject)
    writer.set_splits(splits)
    writer.classes = classes
    writer.meta = dict(
        synthetic=True,
        description='SYNTHETIC procedural motions (msclr_plugin.data_prep.'
        'synthetic), not recorded data',
        seed=int(seed),
        fps=FPS,
        units='metres',
        up_axis='y',
        body_layout=BODY_LAYOUT,
        num_subjects=num_subjects,
        train_subjects=list(range(1, num_train_subjects + 1)),
        clip_subjects=subjects,
        errors={c: gen.errors[c] for c in conventions},
        bone_bias={c: gen.bone_bias(c).round(4).tolist() for c in conventions},
        generation_seconds=round(time.perf_counter() - tic, 3))
    return writer.close()
