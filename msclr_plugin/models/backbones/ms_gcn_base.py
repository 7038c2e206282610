"""The multi-skeleton machinery every backbone of this plugin shares."""
import copy
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.model import BaseModule, ModuleList

from mmaction.registry import MODELS
from ..layers.convention_bn import (ConventionBatchNorm, set_norm_conventions,
                                    to_convention_bn)
from ..layers.conventions import (ConventionBatch, PerConvention,
                                  convention_parameters)
from ..utils import ddp_anchor, index_tensor

Skeleton = Union[None, int, str, Sequence, torch.Tensor]

DEFAULT_INIT = [
    dict(type='Constant', layer='BatchNorm2d', val=1),
    dict(type='Kaiming', layer='Conv2d', mode='fan_out'),
]


def build_graph(graph_cfg: dict):
    """A :class:`MultiSkeletonGraph` (or any registered graph) from its
    config; mmaction2's ``dict(layout=..., mode=...)`` is accepted too."""
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
    return graph_cls(**graph_cfg)


def single_graph_state_dict(state: Dict[str, torch.Tensor],
                            skeleton: str,
                            per_convention: Dict[str, str],
                            drop: Sequence[str] = (),
                            prefix: str = '') -> Dict[str, torch.Tensor]:
    """Rename the state dict of a single-graph backbone (mmaction2's
    ``gcn.<i>.gcn.<unit part>`` layout) to this plugin's keys.

    ``data_bn.*`` becomes ``data_bn.<skeleton>.*``; a unit part named in
    ``per_convention`` becomes ``gcn.<i>.gcn.<new name>.<skeleton>...``;
    unit parts and top-level entries named in ``drop`` (fixed graphs: the
    graph is rebuilt from the layout) are left out; ``gcn.<i>.gcn.down.{0,1}``
    become ``down.{conv,bn}``. Keys outside ``prefix`` are returned
    unchanged.
    """
    out = {}
    for key, value in state.items():
        if not key.startswith(prefix):
            out[key] = value
            continue
        parts = key[len(prefix):].split('.')
        if parts[0] == 'data_bn':
            parts.insert(1, skeleton)
        elif parts[0] in drop:
            continue
        elif parts[0] == 'gcn' and parts[2:3] == ['gcn']:
            if parts[3] in per_convention:
                parts[3:4] = [per_convention[parts[3]], skeleton]
            elif parts[3] in drop:
                continue
            elif parts[3] == 'down':
                parts[4] = {'0': 'conv', '1': 'bn'}[parts[4]]
        out[prefix + '.'.join(parts)] = value
    return out


class MSGCNBase(BaseModule):
    """A stack of graph-convolution blocks shared by several skeleton
    conventions (the base of :class:`MSSTGCN`, :class:`MSSTGCNPlusPlus`,
    :class:`MSAAGCN` and :class:`MSCTRGCN`).

    Each convention keeps its own graph, input BatchNorm and every part the
    blocks keep in :class:`~msclr_plugin.models.layers.conventions.PerConvention`
    containers; the convolutions are shared. A batch is either of one
    convention at its native joint count (no padding, the fast path), or
    padded to a common joint count with the convention of each sample
    given: padded joints are zeroed on entry, never reach a real joint, never
    enter a BatchNorm statistic and are zero on output.

    Subclasses set ``block`` (built as ``block(in_channels, out_channels,
    adjacency, stride=..., residual=..., **stage_kwargs)``) and may override
    :meth:`forward_blocks`.

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
            stage; overrides ``base_channels``/``ch_ratio``/``inflate_stages``.
        data_bn_type (str): ``'VC'`` (one input BN over joints x channels,
            persons as samples), ``'MVC'`` (persons too) or ``'none'``.
            Defaults to ``'VC'``.
        num_person (int): Persons M, for ``'MVC'``. Defaults to 2.
        frozen_stages (int): Freeze the input BNs (stage 0) and the first
            ``frozen_stages`` blocks: no gradients, eval mode (frozen BN
            statistics, no dropout) even after ``.train()``. ``-1`` freezes
            nothing; ``num_stages`` freezes everything (linear probe).
        norm_eval (bool): Keep every BatchNorm in eval mode during training.
        per_convention_bn (bool): Every BatchNorm of the blocks keeps running
            statistics per convention (:class:`ConventionBatchNorm`): a
            convention is normalised by its own statistics in training and
            evaluation, where one BN would mix the conventions' statistics
            in evaluation while normalising each grouped training batch by
            one convention's. A single-BN checkpoint (the paper's form, a
            reference one) loads into it, its statistics copied to every
            convention. Defaults to False (the paper's form).
        shared_bn_affine (bool): With ``per_convention_bn``, one affine
            transform per BN shared by the conventions (True) or one per
            convention. Defaults to True.
        out_norm (bool): End in a BatchNorm per convention without affine
            parameters (:class:`ConventionBatchNorm`): each convention's
            output features standardised by its own statistics, so the
            pooled feature carries no per-convention mean or scale. The
            projector's BN removes both from every grouped training batch
            anyway; this removes them from the frozen feature too. Defaults
            to False (the paper's form).
        init_cfg (dict | list, optional): Initialisation. Defaults to BN
            weight 1 and Kaiming (fan-out) convolutions.
        **kwargs: ``gcn_*`` / ``tcn_*`` keyword routing as in mmaction2 and
            pyskl. A list of ``num_stages`` values sets one value per stage
            (not ``tcn_ms_cfg``, a list of branches). ``tcn_dropout`` never
            applies to the first block.
    """

    block = None

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
                 per_convention_bn: bool = False,
                 shared_bn_affine: bool = True,
                 out_norm: bool = False,
                 init_cfg: Optional[Union[dict, List[dict]]] = DEFAULT_INIT,
                 **kwargs) -> None:
        super().__init__(init_cfg=init_cfg)
        self.graph = build_graph(graph_cfg)
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
            self.data_bn = PerConvention({
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
            # a multi-scale TCN's branch list is one value, whatever its length
            if key != 'tcn_ms_cfg' and isinstance(
                    value, (tuple, list)) and len(value) == num_stages:
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
                self.block(
                    width,
                    self.channels[stage],
                    adjacency,
                    stride=2 if stage + 1 in down_stages else 1,
                    residual=stage > 0,
                    **stage_kwargs[stage]))
            width = self.channels[stage]
        # mmengine's ModuleList: init_weights reaches the blocks' own
        self.gcn = ModuleList(blocks)
        self.per_convention_bn = per_convention_bn
        if per_convention_bn:
            to_convention_bn(self.gcn, self.names, shared_bn_affine)
        self.out_norm = ConventionBatchNorm(
            width, self.names, affine=False) if out_norm else None
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
                    f'{type(self).__name__} has conventions {self.names}; '
                    'pass the convention of the batch (or of each sample)')
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
        if self.per_convention_bn:
            set_norm_conventions(self.gcn, idx, repeat=M)
        batch = ConventionBatch(self.names, idx, M, self.A,
                                self.graph.num_joints, V, mask)
        x = self.forward_blocks(x, batch)
        if self.out_norm is not None:
            set_norm_conventions(self.out_norm, idx, repeat=M)
            x = self.out_norm(x, batch.mask)
        x = x.reshape((N, M) + x.shape[1:])
        if mask is not None:
            x = x * mask[:, None, None, None, :].to(x.dtype)
        return x

    def forward_blocks(self, x: torch.Tensor,
                       batch: ConventionBatch) -> torch.Tensor:
        """The blocks on ``(N*M, C, T, V)`` rows."""
        for block in self.gcn:
            x = block(x, batch)
        return x

    def _convention_parameters(self, names) -> Iterator[nn.Parameter]:
        """Every per-convention parameter of conventions ``names`` (lazily:
        only read under several processes)."""
        return convention_parameters(self, names)

    # ---------------------------------------------------- freezing / modes
    def _freeze_stages(self) -> None:
        if self.frozen_stages < 0:
            return
        frozen = ([self.data_bn] if self.data_bn_type != 'none' else []) + \
            list(self.gcn[:self.frozen_stages])
        if self.out_norm is not None and self.frozen_stages >= self.num_stages:
            frozen.append(self.out_norm)
        for module in frozen:
            module.eval()
            for param in module.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'MSGCNBase':
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    # ------------------------------------------------- mmaction2 interop
    @staticmethod
    def single_graph_settings(model: nn.Module) -> Tuple[dict, str]:
        """The graph, input and input-BN arguments equal to those of an
        mmaction2 single-graph backbone (``STGCN``, ``AAGCN``), and the name
        of its convention: a built-in layout when the graph is one of
        mmaction2's, else a layout named ``'stgcn_custom'``."""
        from msclr_plugin.skeletons import get_layout
        graph = model.graph
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
        data_bn_type = model.data_bn_type if isinstance(
            model.data_bn, nn.BatchNorm1d) else 'none'
        num_person = 2
        if data_bn_type == 'MVC':
            num_person = model.data_bn.num_features // (
                model.in_channels * layout.num_joints)
        return dict(
            graph_cfg=dict(
                type='MultiSkeletonGraph',
                layouts=[layout],
                mode=graph.mode,
                max_hop=graph.max_hop),
            in_channels=model.in_channels,
            data_bn_type=data_bn_type,
            num_person=num_person), layout.name

    @staticmethod
    def strided_stages(blocks: Sequence[nn.Module]) -> List[int]:
        """1-based stages whose temporal unit has stride 2."""
        return [
            i + 1 for i, block in enumerate(blocks)
            if max(m.stride[0] for m in block.tcn.modules()
                   if isinstance(m, nn.Conv2d)) == 2
        ]
