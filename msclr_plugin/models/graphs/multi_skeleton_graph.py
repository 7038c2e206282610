"""Per-convention adjacency stacks: :class:`MultiSkeletonGraph`."""
from typing import List, Sequence, Union

import numpy as np

from mmaction.registry import MODELS
from msclr_plugin.skeletons import SkeletonLayout, get_layout

MODES = ('stgcn_spatial', 'stgcn_spatial_full', 'spatial', 'binary_adj')


def _column_normalise(adj: np.ndarray) -> np.ndarray:
    """``A[j, i] / sum_j A[j, i]``: ST-GCN's ``normalize_digraph``."""
    deg = adj.sum(axis=0)
    inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
    return adj * inv[None, :]


def _edge_matrix(pairs: Sequence, num: int) -> np.ndarray:
    mat = np.zeros((num, num))
    for i, j in pairs:
        mat[j, i] = 1
    return mat


def _truncated_hops(layout: SkeletonLayout, max_hop: int) -> np.ndarray:
    hops = layout.hop_distance.copy()
    hops[hops > max_hop] = np.inf
    return hops


def _inward_edges(layout: SkeletonLayout) -> List[tuple]:
    """Edges oriented from the joint farther from its component root."""
    depth = np.zeros(layout.num_joints)
    for comp in layout.components:
        root = next(v for v in comp if layout.parents[v] == v)
        depth[comp] = layout.hop_distance[root, comp]
    return [(a, b) if depth[a] >= depth[b] else (b, a)
            for a, b in layout.edges]


def adjacency(layout: Union[str, dict, SkeletonLayout],
              mode: str = 'stgcn_spatial',
              max_hop: int = 1) -> np.ndarray:
    """The ``(K, V, V)`` adjacency stack of one layout.

    Modes:
        - ``stgcn_spatial``: ST-GCN's spatial partition (root, centripetal,
          centrifugal) exactly as ST-GCN, AimCLR, MS-CLR and mmaction2 compute
          it: the hop distance to the centre is truncated at ``max_hop``, so
          every edge with both ends farther than ``max_hop`` from the centre
          falls in the centripetal subset. K = 2 * max_hop + 1.
        - ``stgcn_spatial_full``: the same partition with true hop distances
          to the centre (the ST-GCN paper's description). Not in the
          reference code; offered for study.
        - ``spatial``: mmaction2's identity / inward / outward stack (K = 3).
        - ``binary_adj``: the undirected 0/1 adjacency (K = 1).

    Column ``i`` of each subset weights the messages arriving at joint ``i``
    (``out[..., w] = sum_v x[..., v] * A[k, v, w]``).
    """
    layout = get_layout(layout)
    num = layout.num_joints
    if mode not in MODES:
        raise ValueError(f'unknown graph mode {mode!r}; one of {MODES}')
    if mode == 'spatial':
        inward = _inward_edges(layout)
        return np.stack((np.eye(num),
                         _column_normalise(_edge_matrix(inward, num)),
                         _column_normalise(
                             _edge_matrix([(j, i) for i, j in inward], num))))
    if mode == 'binary_adj':
        both = list(layout.edges) + [(b, a) for a, b in layout.edges]
        return _edge_matrix(both, num)[None]

    hops = _truncated_hops(layout, max_hop)
    norm = _column_normalise((hops <= max_hop).astype(np.float64))
    to_center = (layout.hop_distance if mode == 'stgcn_spatial_full' else
                 hops)[:, layout.center]
    nearer = to_center[:, None] >= to_center[None, :]  # [j, i]
    stack = []
    for hop in range(max_hop + 1):
        at_hop = hops == hop
        stack.append(np.where(at_hop & nearer, norm, 0.0))
        if hop > 0:
            stack.append(np.where(at_hop & ~nearer, norm, 0.0))
    return np.stack(stack)


@MODELS.register_module()
class MultiSkeletonGraph:
    """Adjacency stacks of several conventions, zero-padded to ``V_max``.

    Args:
        layouts (str | dict | list): Layout names, config dicts or
            :class:`SkeletonLayout` objects; their order defines the
            convention index used everywhere else. A single layout is allowed
            (then MSSTGCN is an ordinary ST-GCN).
        mode (str): See :func:`adjacency`. Defaults to ``'stgcn_spatial'``.
        max_hop (int): Neighbourhood size of the partition. Defaults to 1.

    Attributes:
        A (np.ndarray): ``(L, K, V_max, V_max)`` float32 stack; convention
            ``l`` fills the top-left ``V_l x V_l`` block of ``A[l]``.
        mask (np.ndarray): ``(L, V_max)`` bool, True on real joints.
    """

    def __init__(self,
                 layouts: Union[str, dict, SkeletonLayout, Sequence],
                 mode: str = 'stgcn_spatial',
                 max_hop: int = 1) -> None:
        if isinstance(layouts, (str, dict, SkeletonLayout)):
            layouts = [layouts]
        self.layouts = [get_layout(layout) for layout in layouts]
        if not self.layouts:
            raise ValueError('MultiSkeletonGraph needs at least one layout')
        names = [layout.name for layout in self.layouts]
        if len(set(names)) != len(names):
            raise ValueError(f'duplicate conventions in {names}')
        self.names = names
        self.mode = mode
        self.max_hop = max_hop
        self.num_joints = [layout.num_joints for layout in self.layouts]
        self.max_joints = max(self.num_joints)

        stacks = [adjacency(layout, mode, max_hop) for layout in self.layouts]
        self.num_subsets = stacks[0].shape[0]
        self.A = np.zeros(
            (len(stacks), self.num_subsets, self.max_joints, self.max_joints),
            dtype=np.float32)
        self.mask = np.zeros((len(stacks), self.max_joints), dtype=bool)
        for idx, (stack, num) in enumerate(zip(stacks, self.num_joints)):
            self.A[idx, :, :num, :num] = stack
            self.mask[idx, :num] = True

    def __len__(self) -> int:
        return len(self.layouts)

    def index(self, skeleton: Union[int, str]) -> int:
        """Convention index of a layout name (or a checked index)."""
        if isinstance(skeleton, (int, np.integer)):
            if not 0 <= skeleton < len(self):
                raise IndexError(f'convention index {skeleton} out of range '
                                 f'for {self.names}')
            return int(skeleton)
        try:
            return self.names.index(skeleton)
        except ValueError:
            raise KeyError(f'convention {skeleton!r} is not one of this '
                           f'model\'s conventions {self.names}') from None

    def native(self, skeleton: Union[int, str]) -> np.ndarray:
        """The ``(K, V_l, V_l)`` stack of one convention, without padding."""
        idx = self.index(skeleton)
        num = self.num_joints[idx]
        return self.A[idx, :, :num, :num]

    def __repr__(self) -> str:
        return (f'MultiSkeletonGraph({self.names}, mode={self.mode!r}, '
                f'K={self.num_subsets}, V_max={self.max_joints})')
