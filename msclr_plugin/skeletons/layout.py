"""A skeleton convention as data: :class:`SkeletonLayout`."""
import re
import warnings
from collections import deque
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmengine.logging import print_log

JointRef = Union[int, str]

KNOWN_ROLES = ('pelvis', 'spine', 'neck', 'head', 'left_shoulder',
               'right_shoulder', 'left_hip', 'right_hip')
# what the default pipeline asks for: MSPreNormalize centres on ``neck`` and
# turns the shoulder line onto +x (as does aimclr_preprocess)
REQUIRED_ROLES = ('neck', 'left_shoulder', 'right_shoulder')

# joint names that stand for a role, compared lower-case without separators;
# earlier names win when a layout has several
_ROLE_NAMES = dict(
    pelvis=('pelvis', 'pelv', 'hipcenter', 'spinebase', 'midhip', 'hips',
            'root'),
    spine=('spine', 'spinemid', 'spin', 'spi2'),
    neck=('neck', 'shouldercenter', 'spineshoulder', 'neckbase', 'thorax'),
    head=('head', 'nose'))
_SIDED_ROLE_NAMES = dict(shoulder=('shoulder', 'sho'), hip=('hip', ))


def _role_candidates(role: str) -> Tuple[str, ...]:
    if role in _ROLE_NAMES:
        return _ROLE_NAMES[role]
    side, part = role.split('_')
    return tuple(
        name for word in _SIDED_ROLE_NAMES[part]
        for name in (side + word, word + side, side[0] + word, word + side[0]))


def _side_of(name: str) -> Optional[Tuple[int, int, str]]:
    """``(start, end, side)`` of the part of a joint name that gives its
    side (``'left'`` or ``'right'``), or None.

    Sides are ``left``/``right`` in any case anywhere in a name
    (``ShoulderLeft``, ``left_eye``) or ``L``/``R`` as an underscore-separated
    token (``Hand_L``, ``L_Hip``).
    """
    for word in ('left', 'right'):
        match = re.search(word, name, flags=re.IGNORECASE)
        if match:
            return match.start(), match.end(), word
    match = re.search(r'(?:(?<=_)|^)([LR])(?=_|$)', name)
    if match:
        return match.start(1), match.end(1), 'left' if match.group(1) == 'L' else 'right'
    return None


def _swap_side(name: str) -> Optional[str]:
    """The mirrored joint name (see :func:`_side_of`), or None when the name
    carries no side."""
    side = _side_of(name)
    if side is None:
        return None
    start, end, word = side
    found = name[start:end]
    if len(found) == 1:
        other = 'R' if found == 'L' else 'L'
    else:
        other = 'right' if word == 'left' else 'left'
        other = other if found.islower() else (
            other.upper() if found.isupper() else other.capitalize())
    return name[:start] + other + name[end:]


def joint_key(name: str) -> str:
    """A joint name written so that the spellings of one joint in different
    conventions agree: the side first, then the name without it, lower-case
    and without separators (``ShoulderLeft``, ``left_shoulder`` and
    ``Shoulder_L`` -> ``'left:shoulder'``; ``Head`` -> ``'head'``)."""
    side = _side_of(name)
    if side is None:
        return _plain(name)
    start, end, word = side
    return f'{word}:{_plain(name[:start] + name[end:])}'


def _plain(name: str) -> str:
    return re.sub(r'[^a-z0-9]', '', name.lower())


def default_roles(names: Sequence[str],
                  roles: Dict[str, List[str]]) -> Dict[str, List[str]]:
    """Roles missing from ``roles`` found from joint names.

    A role is the joint with a usual name for it (``neck``, ``ShoulderCenter``,
    ``SpineShoulder``; ``ShoulderLeft``, ``left_shoulder``, ``shoulder_L``,
    ``lsho``; ...); failing that, ``neck`` is the mean of the shoulders and
    ``pelvis`` the mean of the hips.

    Args:
        names (Sequence[str]): Joint names of the layout.
        roles (dict): The roles already given, ``role -> joint names``.

    Returns:
        dict: ``role -> [joint names]`` for the roles it could find.
    """
    plain = {}
    for name in names:
        plain.setdefault(_plain(name), name)
    found = {}
    for role in KNOWN_ROLES:
        if role in roles:
            continue
        for candidate in _role_candidates(role):
            if candidate in plain:
                found[role] = [plain[candidate]]
                break
    for role, parts in (('neck', 'shoulder'), ('pelvis', 'hip')):
        pair = [f'left_{parts}', f'right_{parts}']
        if role not in roles and role not in found and all(
                p in roles or p in found for p in pair):
            found[role] = [
                n for p in pair for n in (roles.get(p) or found[p])
            ]
    return found


def flip_from_names(names: Sequence[str]) -> List[int]:
    """Left/right permutation derived from joint names.

    Understands ``left``/``right`` in any case anywhere in a name
    (``ShoulderLeft``, ``left_eye``) and ``L``/``R`` as an underscore-separated
    token (``Hand_L``, ``L_Hip``). Names without a side map to themselves.

    Raises:
        ValueError: if a sided name has no mirrored counterpart.
    """
    index = {n: i for i, n in enumerate(names)}
    perm = []
    for i, name in enumerate(names):
        other = _swap_side(name)
        if other is None:
            perm.append(i)
        elif other in index:
            perm.append(index[other])
        else:
            raise ValueError(f'joint {name!r} has no mirrored joint '
                             f'{other!r}; give the flip permutation '
                             'explicitly')
    return perm


class SkeletonLayout:
    """A skeleton convention: joints, graph, centre, flip and bones.

    Everything downstream (graphs, transforms, converters, renderers) asks a
    layout for joint indices; no other module hard-codes them.

    Args:
        name (str): Unique name, e.g. ``'kinectv2_25'``.
        joint_names (Sequence[str]): One unique name per joint, in data order.
        edges (Sequence[tuple]): Undirected bones as ``(a, b)`` pairs of joint
            indices or names. By convention ``a`` is the joint farther from
            the centre (mmaction2's "inward" direction); the spatial-partition
            adjacency only uses hop distances, so direction never matters.
        center (int | str): The centre joint of the ST-GCN partition.
        flip (Sequence[int] | str | None): Left/right permutation for the flip
            augmentation: a list, ``'auto'`` to derive it from the names, or
            None for a layout without sides (identity). Must be an involution.
        roles (dict, optional): Semantic anchors for normalisation and
            rendering, ``role -> joint name or list of names`` (a list means
            the mean of those joints). Known roles (others are rejected):
            ``pelvis``, ``spine``, ``neck``, ``head``, ``left_shoulder``,
            ``right_shoulder``, ``left_hip``, ``right_hip``. Roles not given
            are found from the joint names where possible (see
            :func:`default_roles`; logged).
        description (str): Where the convention comes from.
        aliases (dict, optional): ``joint -> name or list of names`` under
            which the joint also goes when regressors between conventions
            are matched by joint name (e.g. ``dict(hip_c='HipCenter')``), see
            :meth:`JointRegressor.between`.
        required_roles (Sequence[str]): Roles that must be given or found:
            by default those of the default pipeline (``MSPreNormalize``:
            ``neck``, ``left_shoulder``, ``right_shoulder``). Pass ``()`` for
            a layout never normalised by roles.
        verbose (bool): Log the roles found from names and the connected
            components of a disconnected graph; warn when the flip does not
            map bones onto bones. Defaults to True.
    """

    def __init__(self,
                 name: str,
                 joint_names: Sequence[str],
                 edges: Sequence[Tuple[JointRef, JointRef]],
                 center: JointRef,
                 flip: Union[Sequence[int], str, None] = 'auto',
                 roles: Optional[Dict[str, Union[str, Sequence[str]]]] = None,
                 description: str = '',
                 aliases: Optional[Dict[str, Union[str, Sequence[str]]]] = None,
                 required_roles: Sequence[str] = REQUIRED_ROLES,
                 verbose: bool = True) -> None:
        if not name or not isinstance(name, str) or '.' in name:
            raise ValueError(f'layout name must be a non-empty string without '
                             f'".", got {name!r}')
        self.name = name
        self.joint_names = tuple(str(n) for n in joint_names)
        self.description = description
        self._index = {n: i for i, n in enumerate(self.joint_names)}
        if len(self._index) != len(self.joint_names):
            dups = sorted({n for n in self.joint_names
                           if self.joint_names.count(n) > 1})
            raise ValueError(f'layout {name}: duplicate joint names {dups}')
        if self.num_joints == 0:
            raise ValueError(f'layout {name}: no joints')

        pairs = []
        for edge in edges:
            if len(edge) != 2:
                raise ValueError(f'layout {name}: edge {edge!r} is not a pair')
            a, b = (self.index(j) for j in edge)
            if a == b:
                raise ValueError(f'layout {name}: self-loop on joint {a}')
            pairs.append((a, b))
        if len({frozenset(p) for p in pairs}) != len(pairs):
            raise ValueError(f'layout {name}: duplicate edges')
        self.edges = tuple(pairs)
        self.center = self.index(center)

        if isinstance(flip, str):
            if flip != 'auto':
                raise ValueError(f"layout {name}: flip must be a list, 'auto' "
                                 f'or None, got {flip!r}')
            flip = flip_from_names(self.joint_names)
        elif flip is None:
            flip = range(self.num_joints)
        self.flip = np.asarray(list(flip), dtype=np.int64)
        self._check_flip()
        if verbose and not self.flip_preserves_edges():
            warnings.warn(
                f'layout {name}: the flip permutation maps bones onto '
                f'pairs that are not bones: '
                f'{", ".join(self._unflipped_edges())}; '
                'check the flip (or the edges)', stacklevel=2)

        self.required_roles = tuple(required_roles)
        self.roles = self._resolve_roles(roles or {}, verbose)
        self.aliases = {}
        for joint, names in (aliases or {}).items():
            names = [names] if isinstance(names, str) else list(names)
            self.aliases[self.joint_names[self.index(joint)]] = tuple(
                str(n) for n in names)

        self.hop_distance = self._hop_distance()
        self.components = self._components()
        self.parents = self._parents()
        if verbose and len(self.components) > 1:
            parts = '; '.join(
                ','.join(self.joint_names[j] for j in comp)
                for comp in self.components[1:])
            print_log(
                f'Skeleton layout {name}: {len(self.components)} connected '
                f'components. Apart from the one holding the centre '
                f'({self.joint_names[self.center]}): {parts}. Graph '
                'convolution passes no message between components; bones of '
                'each are measured from its own root.',
                logger='current')

    # ------------------------------------------------------------------ basics
    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    def index(self, joint: JointRef) -> int:
        """Index of a joint given by name or index (checked)."""
        if isinstance(joint, (int, np.integer)):
            if not 0 <= int(joint) < self.num_joints:
                raise IndexError(f'layout {self.name}: joint index {joint} '
                                 f'out of range [0, {self.num_joints})')
            return int(joint)
        try:
            return self._index[joint]
        except KeyError:
            raise KeyError(f'layout {self.name} has no joint {joint!r}; '
                           f'joints: {list(self.joint_names)}') from None

    def indices(self, joints: Sequence[JointRef]) -> List[int]:
        return [self.index(j) for j in joints]

    def role(self, role: str) -> Tuple[int, ...]:
        """Joint indices whose mean is the given semantic anchor."""
        try:
            return self.roles[role]
        except KeyError:
            raise KeyError(f'layout {self.name} defines no role {role!r}; '
                           f'roles: {sorted(self.roles)}') from None

    def role_position(self, keypoint: np.ndarray, role: str) -> np.ndarray:
        """Position of a role in ``keypoint`` of shape ``(..., V, C)``."""
        return keypoint[..., list(self.role(role)), :].mean(axis=-2)

    @property
    def bone_pairs(self) -> Tuple[Tuple[int, int], ...]:
        """``(joint, parent)`` for every joint; roots pair with themselves.

        The bone stream of a joint is ``x[joint] - x[parent]``, the parent
        being its neighbour one hop closer to the centre (ties: lowest index).
        """
        return tuple((j, int(p)) for j, p in enumerate(self.parents))

    def neighbours(self) -> List[List[int]]:
        adj = [[] for _ in range(self.num_joints)]
        for a, b in self.edges:
            adj[a].append(b)
            adj[b].append(a)
        return [sorted(n) for n in adj]

    # ------------------------------------------------------------- validation
    def _check_flip(self) -> None:
        perm = self.flip
        if perm.shape != (self.num_joints, ) or sorted(
                perm.tolist()) != list(range(self.num_joints)):
            raise ValueError(f'layout {self.name}: flip is not a permutation '
                             f'of {self.num_joints} joints: {perm.tolist()}')
        if not np.array_equal(perm[perm], np.arange(self.num_joints)):
            raise ValueError(f'layout {self.name}: flip permutation is not an '
                             'involution (flipping twice must be identity)')

    def flip_preserves_edges(self) -> bool:
        """Whether the flip permutation maps the bone set onto itself."""
        return not self._unflipped_edges()

    def _unflipped_edges(self) -> List[str]:
        """``'a-b -> c-d'`` for every bone whose mirror is not a bone."""
        edges = {frozenset(e) for e in self.edges}
        names = self.joint_names
        out = []
        for a, b in self.edges:
            fa, fb = int(self.flip[a]), int(self.flip[b])
            if frozenset((fa, fb)) not in edges:
                out.append(f'{names[a]}-{names[b]} -> {names[fa]}-{names[fb]}')
        return out

    def _resolve_roles(self, roles: dict,
                       verbose: bool) -> Dict[str, Tuple[int, ...]]:
        """Check the given roles, find the missing ones from the names and
        insist on the required ones."""
        for role in list(roles) + list(self.required_roles):
            if role not in KNOWN_ROLES:
                raise ValueError(f'layout {self.name}: unknown role {role!r}; '
                                 f'known roles: {list(KNOWN_ROLES)}')
        given = {}
        for role, joints in roles.items():
            joints = [joints] if isinstance(joints,
                                            (str, int, np.integer)) else joints
            if not len(joints):
                raise ValueError(f'layout {self.name}: role {role!r} names no '
                                 'joint')
            given[role] = [self.joint_names[self.index(j)] for j in joints]
        found = default_roles(self.joint_names, given)
        missing = [r for r in self.required_roles if r not in given and
                   r not in found]
        if missing:
            raise ValueError(
                f'layout {self.name}: no role {missing} and no joint named '
                'for it (the default pipeline needs neck, left_shoulder and '
                "right_shoulder: MSPreNormalize centres on 'neck' and turns the "
                'shoulder line onto +x). Add roles=dict('
                + ', '.join(f'{r}=<joint or [joints]>' for r in missing)
                + '), or required_roles=[] for a layout that is never '
                'normalised by roles')
        if found and verbose:
            print_log(
                f'Skeleton layout {self.name}: roles found from joint names: '
                + ', '.join(f'{r}={"+".join(js)}' for r, js in found.items())
                + ' (give roles=... to choose others)', logger='current')
        given.update(found)
        return {
            role: tuple(self.index(j) for j in given[role])
            for role in KNOWN_ROLES if role in given
        }

    # ------------------------------------------------------------ graph facts
    def _bfs(self, source: int) -> np.ndarray:
        dist = np.full(self.num_joints, np.inf)
        dist[source] = 0
        queue = deque([source])
        adj = self.neighbours()
        while queue:
            v = queue.popleft()
            for w in adj[v]:
                if dist[w] == np.inf:
                    dist[w] = dist[v] + 1
                    queue.append(w)
        return dist

    def _hop_distance(self) -> np.ndarray:
        """``(V, V)`` shortest-path hop counts, ``inf`` between components."""
        return np.stack([self._bfs(v) for v in range(self.num_joints)])

    def _components(self) -> List[List[int]]:
        """Connected components, the centre's first, others by first joint."""
        seen = set()
        comps = []
        for start in [self.center] + list(range(self.num_joints)):
            if start in seen:
                continue
            comp = np.flatnonzero(np.isfinite(self.hop_distance[start]))
            seen.update(comp.tolist())
            comps.append(comp.tolist())
        return comps

    def _parents(self) -> np.ndarray:
        """Parent of every joint toward its component's root."""
        parents = np.arange(self.num_joints)
        adj = self.neighbours()
        for comp in self.components:
            if self.center in comp:
                root = self.center
            else:  # graph centre of the component: least eccentricity
                sub = self.hop_distance[np.ix_(comp, comp)]
                root = comp[int(np.argmin(sub.max(axis=1)))]
            dist = self.hop_distance[root]
            for v in comp:
                if v != root:
                    parents[v] = min(w for w in adj[v]
                                     if dist[w] == dist[v] - 1)
        return parents

    # ------------------------------------------------------------ conversion
    def to_dict(self) -> dict:
        """Plain-data form, accepted back by :func:`get_layout`."""
        roles = {
            r: [self.joint_names[j] for j in js]
            for r, js in self.roles.items()
        }
        out = dict(
            name=self.name,
            joint_names=list(self.joint_names),
            edges=[list(e) for e in self.edges],
            center=self.center,
            flip=self.flip.tolist(),
            roles=roles,
            description=self.description)
        if self.aliases:
            out['aliases'] = {j: list(n) for j, n in self.aliases.items()}
        if self.required_roles != REQUIRED_ROLES:
            out['required_roles'] = list(self.required_roles)
        return out

    def __repr__(self) -> str:
        return (f'SkeletonLayout({self.name!r}, {self.num_joints} joints, '
                f'{len(self.edges)} edges, centre '
                f'{self.joint_names[self.center]!r}, '
                f'{len(self.components)} component(s))')

    def __eq__(self, other) -> bool:
        if not isinstance(other, SkeletonLayout):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash((self.name, self.joint_names, self.edges))
