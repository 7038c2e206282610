"""Per-convention parts of a multi-skeleton backbone and the batch routing.

Every multi-skeleton backbone keeps some parts per skeleton convention (the
input BN, the learned or adaptive graph, AAGCN's joint-axis attention) and
shares the rest. The per-convention parts live in :class:`PerConvention` /
:class:`PerConventionParameter` containers keyed by convention name, so the
backbone finds them all by type (DDP anchors, freezing, converters), and a
block reaches the rows of each convention through :class:`ConventionBatch`.
"""
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..utils import index_tensor


class PerConvention(nn.ModuleDict):
    """Modules kept per convention, keyed by the convention's name."""


class PerConventionParameter(nn.ParameterDict):
    """Parameters kept per convention, keyed by the convention's name."""


def convention_parameters(module: nn.Module,
                          names: Iterable[str]) -> Iterator[nn.Parameter]:
    """The parameters that ``module`` keeps for the conventions ``names``
    (lazily, in module order)."""
    names = list(names)
    for part in module.modules():
        if isinstance(part, PerConvention):
            for name in names:
                yield from part[name].parameters()
        elif isinstance(part, PerConventionParameter):
            for name in names:
                yield part[name]


class ConventionBatch:
    """The conventions of the ``N * M`` rows (sample x person) that a
    backbone's blocks see, decided on the host.

    Args:
        names (List[str]): The backbone's conventions, in index order.
        idx (int | List[int]): The batch's convention, or each sample's.
        num_person (int): Persons M (rows per sample).
        graph (torch.Tensor): ``(L, K, V_max, V_max)`` padded graph stacks.
        num_joints (List[int]): Native joint count of each convention.
        width (int): The batch's joint count V.
        mask (torch.Tensor, optional): ``(N, V)`` real joints; None when
            the batch is one convention at its native joint count.
    """

    def __init__(self, names: List[str], idx: Union[int, List[int]],
                 num_person: int,
                 graph: torch.Tensor, num_joints: List[int], width: int,
                 mask: Optional[torch.Tensor]) -> None:
        self.names = names
        self.idx = idx
        self.graph = graph
        self.num_joints = num_joints
        self.width = width
        self.mask = (None if mask is None else mask.repeat_interleave(
            num_person, dim=0))
        if isinstance(idx, int):
            self.used = [idx]
            self.row_conventions = None
        else:
            self.used = sorted(set(idx))
            self.row_conventions = [i for i in idx for _ in range(num_person)]
        self._rows: Dict[Optional[int], torch.Tensor] = {}

    def rows(self, conv: Optional[int] = None) -> torch.Tensor:
        """Long indices of the rows of convention ``conv`` (or, for None,
        the convention of every row); mixed batches only."""
        if conv not in self._rows:
            values = self.row_conventions if conv is None else [
                r for r, c in enumerate(self.row_conventions) if c == conv
            ]
            self._rows[conv] = index_tensor(values, self.graph.device)
        return self._rows[conv]

    def native_graph(self, conv: int) -> torch.Tensor:
        """The ``(K, V_l, V_l)`` graph of convention ``conv``."""
        num = self.num_joints[conv]
        return self.graph[conv, :, :num, :num]

    def stack(self, fn: Callable[[int], torch.Tensor]) -> torch.Tensor:
        """Per-convention ``(..., V_l, V_l)`` matrices ``fn(conv)`` zero-
        padded to the batch: ``(..., V, V)`` for a one-convention batch, else
        ``(N*M, ..., V, V)``, the matrix of each row's convention."""
        V = self.width
        if self.row_conventions is None:
            num = self.num_joints[self.idx]
            mat = fn(self.idx)
            return mat if num == V else F.pad(mat, (0, V - num, 0, V - num))
        mats = {conv: fn(conv) for conv in self.used}
        shape = next(iter(mats.values())).shape[:-2]
        stack = self.graph.new_zeros((len(self.num_joints), ) + shape +
                                     (V, V))
        for conv, mat in mats.items():
            num = self.num_joints[conv]
            stack[conv, ..., :num, :num] = mat
        return stack[self.rows()]

    def graphs(self, learned: Optional[PerConventionParameter] = None
               ) -> torch.Tensor:
        """:meth:`stack` of each convention's learned ``(K, V_l, V_l)``
        graph, or of its fixed graph when ``learned`` is None."""
        return self.stack(lambda conv: self.native_graph(conv) if learned is
                          None else learned[self.names[conv]])

    def apply(self, x: torch.Tensor,
              fn: Callable[[int, torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """``fn(conv, rows of x in conv)`` for each convention of the batch,
        reassembled in row order (``x``: ``(N*M, ...)``)."""
        if self.row_conventions is None:
            return fn(self.idx, x)
        out = None
        for conv in self.used:
            rows = self.rows(conv)
            part = fn(conv, x.index_select(0, rows))
            if out is None:
                out = part.new_zeros((x.shape[0], ) + part.shape[1:])
            out = out.index_copy(0, rows, part)
        return out

    def joint_mean(self, x: torch.Tensor) -> torch.Tensor:
        """Mean of ``(N*M, ..., V)`` over the real joints of each row."""
        if self.mask is None:
            return x.mean(-1)
        weight = self.mask.to(x.dtype).view((x.shape[0], ) + (1, ) *
                                            (x.dim() - 2) + (x.shape[-1], ))
        return (x * weight).sum(-1) / weight.sum(-1)
