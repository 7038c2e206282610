"""MSSTGCN: one ST-GCN shared by several skeleton conventions."""
import copy
from typing import Dict, Iterator, List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.model import BaseModule

from mmaction.registry import MODELS
from ..graphs import MultiSkeletonGraph
from ..layers import STGCNBlock
from ..utils import ddp_anchor, index_tensor

Skeleton = Union[None, int, str, Sequence, torch.Tensor]

DEFAULT_INIT = [
    dict(type='Constant', layer='BatchNorm2d', val=1),
    dict(type='Kaiming', layer='Conv2d', mode='fan_out'),
]


@MODELS.register_module()
class MSSTGCN(BaseModule):
    """Multi-skeleton ST-GCN (MS-CLR's "unified skeleton" encoder).

    The ST-GCN blocks (convolutions and their BatchNorms) are shared by every
    convention; each convention keeps its own graph, input BatchNorm and
    edge-importance weights. With one convention it is an ordinary ST-GCN,
    numerically equal to mmaction2's ``STGCN`` (see :meth:`from_stgcn`).

    A batch is either of one convention at its native joint count (no
    padding, the fast path), or padded to a common joint count with the
    convention of each sample given: padded joints are zeroed on entry, get
    no edges, never enter a BatchNorm statistic and are zero on output, so a
    real joint's output never depends on them.

    Args:
        graph_cfg (dict): A :class:`MultiSkeletonGraph` config
            (``dict(type='MultiSkeletonGraph', layouts=[...], mode=...)``);
            mmaction2's ``dict(layout='nturgb+d', mode='stgcn_spatial')`` is
            accepted too.
        in_channels (int): Input channels (3 for xyz). Defaults to 3.
        base_channels (int): Channels of the first stage. Defaults to 64.
        ch_ratio (int): Inflation ratio at ``inflate_stages``. Defaults to 2.
        num_stages (int): Number of blocks. Defaults to 10.
        inflate_stages (Sequence[int]): 1-based stages that multiply the
            channels by ``ch_ratio``. Defaults to (5, 8).
        down_stages (Sequence[int]): 1-based stages with temporal stride 2.
            Defaults to (5, 8).
        channels (Sequence[int], optional): Explicit output channels of every
            stage; overrides ``base_channels``/``ch_ratio``/``inflate_stages``
            (AimCLR's encoder: ``(16, 16, 16, 16, 32, 32, 32, 64, 64, 256)``).
        data_bn_type (str): ``'VC'`` (one input BN over joints x channels,
            persons as samples), ``'MVC'`` (persons too) or ``'none'``.
            Defaults to ``'VC'``.
        num_person (int): Persons M, for ``'MVC'``. Defaults to 2.
        frozen_stages (int): Freeze the input BNs (stage 0) and the first
            ``frozen_stages`` blocks: no gradients, eval mode (frozen BN
            statistics, no dropout) even after ``.train()``. ``-1`` freezes
            nothing; ``num_stages`` freezes everything (linear probe).
        norm_eval (bool): Keep every BatchNorm in eval mode during training.
        init_cfg (dict | list, optional): Initialisation. Defaults to BN
            weight 1 and Kaiming (fan-out) convolutions.
        **kwargs: ``gcn_*`` / ``tcn_*`` keyword routing as in mmaction2 and
            pyskl (``tcn_dropout``, ``tcn_kernel_size``, ``gcn_adaptive``,
            ``gcn_with_res``...). A list of ``num_stages`` values sets one
            value per stage. ``tcn_dropout`` never applies to the first block.

    Examples:
        >>> backbone = MSSTGCN(
        ...     graph_cfg=dict(type='MultiSkeletonGraph',
        ...                    layouts=['kinectv2_25', 'smplx_42']))
        >>> x = torch.randn(4, 2, 50, 25, 3)        # (N, M, T, V, C)
        >>> backbone(x, 'kinectv2_25').shape        # native 25 joints
        torch.Size([4, 2, 256, 13, 25])
        >>> mixed = torch.randn(4, 2, 50, 42, 3)    # padded to 42
        >>> backbone(mixed, ['kinectv2_25', 'smplx_42'] * 2).shape
        torch.Size([4, 2, 256, 13, 42])
    """

    def __init__(self,
                 graph_cfg: dict,
                 in_channels: int = 3,
                 base_channels: int = 64,
                 ch_ratio: int = 2,
                 num_stages: int = 10,
                 inflate_stages: Sequence[int] = (5, 8),
                 down_stages: Sequence[int] = (5, 8),
                 channels: Optional[Sequence[int]] = None,
                 data_bn_type: str = 'VC',
                 num_person: int = 2,
                 frozen_stages: int = -1,
                 norm_eval: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = DEFAULT_INIT,
                 **kwargs) -> None:
        super().__init__(init_cfg=init_cfg)
        graph_cfg = dict(graph_cfg)
        if 'type' not in graph_cfg:  # mmaction2's Graph(layout=..., mode=...)
            graph_cfg = dict(
                type='MultiSkeletonGraph',
                layouts=graph_cfg.pop('layout'),
                **graph_cfg)
        graph_type = graph_cfg.pop('type')
        # looked up in mmaction's registry whatever the default scope is
        graph_cls = MODELS.get(graph_type) if isinstance(graph_type,
                                                         str) else graph_type
        if graph_cls is None:
            raise KeyError(f'graph type {graph_type!r} is not registered')
        self.graph = graph_cls(**graph_cfg)
        self.names = list(self.graph.names)
        self.register_buffer(
            'A', torch.from_numpy(self.graph.A), persistent=False)
        self.register_buffer(
            'joint_masks', torch.from_numpy(self.graph.mask),
            persistent=False)

        if data_bn_type not in ('VC', 'MVC', 'none'):
            raise ValueError(f'data_bn_type must be VC, MVC or none, got '
                             f'{data_bn_type!r}')
        self.data_bn_type = data_bn_type
        self.in_channels = in_channels
        self.num_person = num_person
        if data_bn_type != 'none':
            persons = num_person if data_bn_type == 'MVC' else 1
            self.data_bn = nn.ModuleDict({
                name: nn.BatchNorm1d(persons * in_channels * num)
                for name, num in zip(self.names, self.graph.num_joints)
            })

        if channels is None:
            channels, width = [], base_channels
            for stage in range(1, num_stages + 1):
                if stage in inflate_stages:
                    width = int(width * ch_ratio + 1e-4)
                channels.append(width)
        if len(channels) != num_stages:
            raise ValueError(f'{len(channels)} channels for {num_stages} '
                             'stages')
        self.channels = list(channels)
        self.num_stages = num_stages
        stage_kwargs = [copy.deepcopy(kwargs) for _ in range(num_stages)]
        for key, value in kwargs.items():
            if isinstance(value, (tuple, list)) and len(value) == num_stages:
                for stage in range(num_stages):
                    stage_kwargs[stage][key] = value[stage]
        stage_kwargs[0].pop('tcn_dropout', None)

        adjacency = {
            name: torch.from_numpy(self.graph.native(name).copy())
            for name in self.names
        }
        blocks, width = [], in_channels
        for stage in range(num_stages):
            blocks.append(
                STGCNBlock(
                    width,
                    self.channels[stage],
                    adjacency,
                    stride=2 if stage + 1 in down_stages else 1,
                    residual=stage > 0,
                    **stage_kwargs[stage]))
            width = self.channels[stage]
        self.gcn = nn.ModuleList(blocks)
        self.out_channels = width
        self.frozen_stages = frozen_stages
        self.norm_eval = norm_eval
        self._freeze_stages()

    # ---------------------------------------------------------- conventions
    def skeleton_index(self, skeleton: Skeleton,
                       batch_size: int) -> Union[int, List[int]]:
        """Resolve the convention argument of :meth:`forward`.

        Returns an ``int`` when the whole batch has one convention, else the
        list of the ``N`` per-sample convention indices. Both are host-side:
        the conventions arrive as names in the data samples' metainfo, so a
        batch is grouped by convention without reading the device (a tensor
        of convention ids on a GPU costs one synchronisation, to read it).
        """
        if skeleton is None:
            if len(self.names) > 1:
                raise ValueError(
                    f'MSSTGCN has conventions {self.names}; pass the '
                    'convention of the batch (or of each sample)')
            return 0
        if isinstance(skeleton, (int, str, np.integer)):
            return self.graph.index(skeleton)
        if isinstance(skeleton, torch.Tensor):
            if skeleton.dim() != 1:
                raise ValueError(f'{tuple(skeleton.shape)} convention ids for '
                                 f'a batch of {batch_size}')
            skeleton = skeleton.tolist()
        idx = [self.graph.index(s) for s in skeleton]
        if len(idx) != batch_size:
            raise ValueError(f'{len(idx)} convention ids for a batch of '
                             f'{batch_size}')
        if idx and idx.count(idx[0]) == len(idx):
            return idx[0]
        return idx

    def joint_mask(self, skeleton: Skeleton, batch_size: int,
                   num_joints: int) -> Optional[torch.Tensor]:
        """``(N, V)`` bool mask of real joints, or None for a native batch."""
        idx = self.skeleton_index(skeleton, batch_size)
        if isinstance(idx, int):
            if num_joints == self.graph.num_joints[idx]:
                return None
            idx = [idx] * batch_size
        needed = max(self.graph.num_joints[i] for i in set(idx))
        if not needed <= num_joints <= self.graph.max_joints:
            raise ValueError(
                f'a batch of conventions needing {needed} joints arrived '
                f'with {num_joints} (at most {self.graph.max_joints})')
        return self.joint_masks[index_tensor(idx, self.A.device), :num_joints]

    # --------------------------------------------------------------- forward
    def _data_bn(self, x: torch.Tensor, idx: Union[int, List[int]],
                 mask: Optional[torch.Tensor]) -> torch.Tensor:
        """Per-convention input BN on (N, M, T, V, C), native joints only."""
        N, M, T, V, C = x.shape
        convs = [idx] if isinstance(idx, int) else sorted(set(idx))
        if self.data_bn_type != 'none' and any(
                getattr(bn, 'is_synced', False) for bn in self.data_bn.values()):
            # synchronised BNs are collectives: every rank calls each one,
            # with the rows (maybe none) of its batch in that convention
            convs = range(len(self.names))
        per_sample = [idx] * N if isinstance(idx, int) else idx
        out = x if mask is None else torch.zeros_like(x)
        for conv in convs:
            # None: the whole batch is of this convention
            rows = None if conv == idx else index_tensor(
                [i for i, c in enumerate(per_sample) if c == conv], x.device)
            num = self.graph.num_joints[conv]
            part = x if rows is None else x.index_select(0, rows)
            part = part[:, :, :, :num]
            if self.data_bn_type != 'none':
                n = part.shape[0]
                bn = self.data_bn[self.names[conv]]
                # (n, M, T, V, C) -> (n, M, V, C, T) -> BN over V*C (or M*V*C)
                flat = part.permute(0, 1, 3, 4, 2).reshape(
                    (n * M, num * C, T) if self.data_bn_type == 'VC' else
                    (n, M * num * C, T))
                part = bn(flat).view(n, M, num, C, T).permute(0, 1, 4, 2, 3)
            if rows is None and mask is None:
                out = part
            elif rows is None:
                out[:, :, :, :num] = part
            elif rows.numel():
                out[rows, :, :, :num] = part
        return out

    def forward(self, x: torch.Tensor, skeleton: Skeleton = None) -> torch.Tensor:
        """Embed a batch.

        Args:
            x (torch.Tensor): ``(N, M, T, V, C)`` skeletons.
            skeleton: The convention of the batch (name or index) or of each
                sample (a sequence of names/indices or a ``(N,)`` tensor).
                May be omitted when the model has a single convention.

        Returns:
            torch.Tensor: ``(N, M, C_out, T_out, V)`` features; padded joints
            are zero.
        """
        N, M, T, V, C = x.shape
        idx = self.skeleton_index(skeleton, N)
        mask = self.joint_mask(idx, N, V)
        x = self._data_bn(x, idx, mask)
        used = {idx} if isinstance(idx, int) else set(idx)
        anchor = ddp_anchor(self._convention_parameters(
            name for i, name in enumerate(self.names) if i not in used))
        if anchor is not None:
            x = x + anchor
        x = x.permute(0, 1, 4, 2, 3).reshape(N * M, C, T, V)
        mask_nm = None if mask is None else mask.repeat_interleave(M, dim=0)
        # convention of every (sample, person) row, for mixed batches
        idx_nm = None if isinstance(idx, int) else index_tensor(
            [i for i in idx for _ in range(M)], x.device)
        for block in self.gcn:
            x = block(x, self._adjacency(block, idx, idx_nm, V), mask_nm)
        x = x.reshape((N, M) + x.shape[1:])
        if mask is not None:
            x = x * mask[:, None, None, None, :].to(x.dtype)
        return x

    def _convention_parameters(self, names) -> Iterator[nn.Parameter]:
        """The input BN and edge-importance parameters of conventions
        (lazily: only read under several processes)."""
        for name in names:
            if self.data_bn_type != 'none':
                yield from self.data_bn[name].parameters()
            for block in self.gcn:
                if block.gcn.adaptive is not None:
                    yield block.gcn.PA[name]

    def _adjacency(self, block: STGCNBlock, idx: Union[int, List[int]],
                   idx_nm: Optional[torch.Tensor], V: int) -> torch.Tensor:
        """(K, V, V) for a one-convention batch, (N*M, K, V, V) if mixed
        (``idx_nm``: the convention of each of the N*M rows)."""
        if isinstance(idx, int):
            num = self.graph.num_joints[idx]
            A = block.gcn.effective(self.A[idx, :, :num, :num],
                                    self.names[idx])
            return A if num == V else nn.functional.pad(
                A, (0, V - num, 0, V - num))
        stack = self.A.new_zeros((len(self.names), ) + self.A.shape[1:2] +
                                 (V, V))
        for conv in sorted(set(idx)):
            num = self.graph.num_joints[conv]
            stack[conv, :, :num, :num] = block.gcn.effective(
                self.A[conv, :, :num, :num], self.names[conv])
        return stack[idx_nm]

    # ---------------------------------------------------- freezing / modes
    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen = ([self.data_bn] if self.data_bn_type != 'none' else []) + \
            list(self.gcn[:self.frozen_stages])
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'MSSTGCN':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    # ------------------------------------------------- mmaction2 interop
    @classmethod
    def from_stgcn(cls, stgcn: nn.Module, **kwargs) -> 'MSSTGCN':
        """Build an MSSTGCN equal to an mmaction2 ``STGCN`` and copy its
        weights.

        Supports ``unit_tcn`` temporal units and every ``gcn_adaptive`` mode;
        the result has the STGCN's single convention (a built-in layout when
        the graph is one of mmaction2's, else a layout named
        ``'stgcn_custom'``). Extra keyword arguments (e.g. ``frozen_stages``)
        are passed to the constructor.
        """
        from msclr_plugin.skeletons import get_layout
        graph = stgcn.graph
        if isinstance(graph.layout, dict):
            layout = get_layout(
                dict(
                    name='stgcn_custom',
                    joint_names=[f'joint{i}' for i in range(graph.num_node)],
                    edges=[tuple(e) for e in graph.inward],
                    center=graph.center,
                    flip=None,
                    required_roles=()))
        else:
            layout = get_layout(graph.layout)
        blocks = list(stgcn.gcn)
        first = blocks[0]
        if stgcn.in_channels == stgcn.base_channels:
            raise NotImplementedError(
                'STGCN with in_channels == base_channels has no stem block; '
                'not supported by from_stgcn')
        for block in blocks:
            if not hasattr(block.tcn, 'conv') or not hasattr(block.tcn, 'bn'):
                raise NotImplementedError('from_stgcn supports unit_tcn only')
            if block.gcn.conv_pos != 'pre':
                raise NotImplementedError("from_stgcn supports conv_pos='pre'")
        dropout = [
            getattr(getattr(b.tcn, 'drop', None), 'p', 0.) for b in blocks
        ]
        data_bn_type = stgcn.data_bn_type if isinstance(
            stgcn.data_bn, nn.BatchNorm1d) else 'none'
        num_person = 2
        if data_bn_type == 'MVC':
            num_person = stgcn.data_bn.num_features // (
                stgcn.in_channels * layout.num_joints)
        model = cls(
            graph_cfg=dict(
                type='MultiSkeletonGraph',
                layouts=[layout],
                mode=graph.mode,
                max_hop=graph.max_hop),
            in_channels=stgcn.in_channels,
            num_stages=len(blocks),
            channels=[b.gcn.out_channels for b in blocks],
            down_stages=[
                i + 1 for i, b in enumerate(blocks)
                if b.tcn.conv.stride[0] == 2
            ],
            data_bn_type=data_bn_type,
            num_person=num_person,
            tcn_kernel_size=first.tcn.conv.kernel_size[0],
            tcn_dropout=dropout,
            gcn_adaptive=first.gcn.adaptive,
            gcn_with_res=first.gcn.with_res,
            **kwargs)
        model.load_state_dict(
            stgcn_state_dict_to_msstgcn(stgcn.state_dict(), layout.name,
                                        first.gcn.adaptive))
        return model


def stgcn_state_dict_to_msstgcn(state: Dict[str, torch.Tensor],
                                skeleton: str,
                                adaptive: Optional[str] = 'importance',
                                prefix: str = '') -> Dict[str, torch.Tensor]:
    """Rename an mmaction2 ``STGCN`` state dict to MSSTGCN keys.

    ``data_bn.*`` becomes ``data_bn.<skeleton>.*``; the edge parameters
    ``gcn.i.gcn.PA`` (or the learnable ``gcn.i.gcn.A`` of
    ``adaptive='init'``) become ``gcn.i.gcn.PA.<skeleton>``; the fixed graph
    buffers ``gcn.i.gcn.A`` are dropped (the graph is rebuilt from the
    layout); ``gcn.i.gcn.down.{0,1}`` become ``down.{conv,bn}``. Keys outside
    ``prefix`` are returned unchanged.
    """
    out = {}
    for key, value in state.items():
        if not key.startswith(prefix):
            out[key] = value
            continue
        parts = key[len(prefix):].split('.')
        if parts[0] == 'data_bn':
            parts.insert(1, skeleton)
        elif parts[0] == 'gcn' and parts[2:3] == ['gcn']:
            if parts[3:] == ['PA'] or (parts[3:] == ['A']
                                       and adaptive == 'init'):
                parts = parts[:3] + ['PA', skeleton]
            elif parts[3:] == ['A']:
                continue
            elif parts[3] == 'down':
                parts[4] = {'0': 'conv', '1': 'bn'}[parts[4]]
        out[prefix + '.'.join(parts)] = value
    return out
