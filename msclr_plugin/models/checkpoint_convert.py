"""Checkpoints of the reference code and of this project's pretraining,
converted to the evaluation models' keys (``tools/convert_checkpoint.py``).

Sources:

- AimCLR (``net.aimclr.AimCLR`` with ``net.st_gcn.Model``): the query
  encoder ``encoder_q.*`` of a pretraining checkpoint (the key encoder
  ``encoder_k.*`` and the queue are dropped), of a linear-evaluation one, or
  a bare ``st_gcn.Model`` state dict.
- MS-CLR (``net.st_gcn_flex.FlexModel``): the same, with one input BN
  (``data_bn.<skeleton>``), one adjacency ``A_<skeleton>`` and one set of
  edge importances ``edge_importance.<skeleton>.<i>`` per skeleton, all
  zero-padded to the largest joint count.
- This project's pretraining checkpoints (``backbone.*``, or
  ``streams.<stream>.backbone.*`` for MSCrosSCLR): the query encoder only.

The result is ``backbone.*`` (:class:`MSSTGCN` keys), the reference
projector as ``neck.projector.*`` (:class:`MSProjectionNeck`) and a
reference classifier as ``cls_head.fc.<convention>.*`` (:class:`MSLinearHead`,
one copy per convention when the reference shares one classifier).

The reference adjacency ``A`` is not carried: :class:`MSSTGCN` builds it from
the layout, and the conversion checks that the two are equal (to 1e-6), so a
reference skeleton maps only to a layout with the same graph.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch

from msclr_plugin.skeletons import get_layout, list_layouts
from msclr_plugin.utils.checkpoint import (CheckpointError, describe_keys,
                                           load_state_dict_strict,
                                           strip_module_prefix)
from .graphs.multi_skeleton_graph import adjacency

# The reference graphs' layout names that differ from this project's.
REFERENCE_LAYOUTS = {'ntu-rgb+d': 'kinectv2_25'}
# net.st_gcn.Model: temporal stride 2 at its blocks 4 and 7 (0-based).
REFERENCE_DOWN_STAGES = (5, 8)
# st_gcn block sub-modules -> STGCNBlock sub-modules
_BLOCK_KEYS = {
    'gcn.conv': 'gcn.conv',
    'tcn.0': 'gcn.bn',
    'tcn.2': 'tcn.conv',
    'tcn.3': 'tcn.bn',
    'residual.0': 'residual.conv',
    'residual.1': 'residual.bn',
}


def checkpoint_state(checkpoint, filename: str) -> Dict[str, torch.Tensor]:
    """The state dict inside a loaded checkpoint: mmengine's
    ``'state_dict'``, MS-CLR's ``'model_state_dict'`` or the dict itself;
    ``module.`` prefixes removed."""
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f'{filename}: holds a '
                              f'{type(checkpoint).__name__}, not a dict')
    for key in ('state_dict', 'model_state_dict'):
        if isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    state = {k: v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise CheckpointError(
            f'{filename}: no tensors found (top-level keys: '
            f'{describe_keys(map(str, checkpoint))})')
    return strip_module_prefix(state)


def _graph_error(A: np.ndarray, layout: str) -> Optional[str]:
    """Why the reference adjacency ``A`` (K, V', V') is not the layout's
    graph zero-padded, or None if it is."""
    ours = adjacency(layout)
    num = ours.shape[-1]
    if A.shape[0] != ours.shape[0] or A.shape[-1] < num:
        return (f'shape {A.shape} vs {layout} {ours.shape} (only the '
                "reference 'spatial' strategy, K=3, is supported)")
    diff = np.abs(A[:, :num, :num] - ours)
    pad = max(np.abs(A[:, num:]).max(initial=0),
              np.abs(A[:, :, num:]).max(initial=0))
    if diff.max() > 1e-6 or pad > 0:
        k, i, j = np.unravel_index(diff.argmax(), diff.shape)
        return (f'max |A - A_{layout}| = {diff.max():.3g} (subset {k}, '
                f'joints {i}, {j}), padding max {pad:.3g}')
    return None


def _match_layout(name: Optional[str], A: torch.Tensor, skeleton_map: dict,
                  source: str) -> str:
    """This project's layout for a reference skeleton, checked by graph."""
    A = A.double().numpy()
    label = name or 'A'
    if name in skeleton_map or (name is None and None in skeleton_map):
        layout = get_layout(skeleton_map[name]).name
        error = _graph_error(A, layout)
        if error:
            raise CheckpointError(
                f'{source}: reference skeleton {label!r} is not layout '
                f'{layout!r}: {error}')
        return layout
    # AimCLR's single graph is ST-GCN's 'ntu-rgb+d' in its configs
    guess = REFERENCE_LAYOUTS.get(name or 'ntu-rgb+d', name)
    others = [n for n in list_layouts() if n != guess]
    for layout in ([guess] if guess in list_layouts() else []) + others:
        if get_layout(layout).num_joints <= A.shape[-1] and \
                _graph_error(A, layout) is None:
            return layout
    raise CheckpointError(
        f'{source}: no built-in layout has the graph of reference skeleton '
        f'{label!r} (V = {A.shape[-1]}, padded); map it with '
        f'--skeleton-map {name or "A"}=<layout> to see the difference')


def _is_reference(state: Dict[str, torch.Tensor], prefix: str) -> bool:
    return f'{prefix}st_gcn_networks.0.gcn.conv.weight' in state


def convert_reference(state: Dict[str, torch.Tensor],
                      source: str = 'checkpoint',
                      skeleton_map: Optional[dict] = None,
                      encoder_prefix: Optional[str] = None
                      ) -> Tuple[OrderedDict, dict]:
    """Convert an AimCLR or MS-CLR encoder state dict.

    Args:
        state (dict): The reference state dict (``encoder_q.*`` of an
            ``AimCLR`` model, or a bare ``st_gcn.Model`` / ``FlexModel``).
        source (str): The file name, for messages.
        skeleton_map (dict, optional): Reference skeleton name -> layout
            (``None`` or ``'A'`` for AimCLR's single graph). Unmapped
            skeletons go to the built-in layout of the same name
            (``'ntu-rgb+d'``: ``'kinectv2_25'``) or of the same graph.
        encoder_prefix (str, optional): The encoder's prefix; by default
            ``'encoder_q.'`` if present, else none.

    Returns:
        tuple: ``(state_dict, info)``; ``info`` holds the source format, the
        conventions, the encoder's architecture and the dropped keys.
    """
    skeleton_map = {
        None if k == 'A' else k: v
        for k, v in (skeleton_map or {}).items()
    }
    if encoder_prefix is None:
        encoder_prefix = 'encoder_q.' if _is_reference(state,
                                                       'encoder_q.') else ''
    if not _is_reference(state, encoder_prefix):
        raise CheckpointError(
            f'{source}: no ST-GCN encoder under {encoder_prefix!r} '
            f'(AimCLR/MS-CLR keys st_gcn_networks.*); it holds '
            f'{describe_keys(state)}')
    enc = {
        k[len(encoder_prefix):]: v
        for k, v in state.items() if k.startswith(encoder_prefix)
    }
    dropped = [k for k in state if not k.startswith(encoder_prefix)]
    pretraining = any(k.startswith(('encoder_k.', 'queue')) for k in dropped)
    graphs = {None: enc['A']} if 'A' in enc else {
        k[2:]: v
        for k, v in enc.items() if k.startswith('A_')
    }
    if not graphs:
        raise CheckpointError(f'{source}: no adjacency buffer A / A_<skeleton> '
                              'in the encoder')
    layouts = {
        name: _match_layout(name, A, skeleton_map, source)
        for name, A in graphs.items()
    }
    num_joints = {name: get_layout(l).num_joints for name, l in layouts.items()}
    flex = None not in graphs
    out, head = OrderedDict(), OrderedDict()
    blocks = []
    for key, value in enc.items():
        parts = key.split('.')
        if parts[0] == 'A' or key.startswith('A_'):
            continue  # checked against the layout's graph above
        if parts[0] == 'data_bn':
            name = parts[1] if flex else None
            rest = parts[2:] if flex else parts[1:]
            out['.'.join(['data_bn', layouts[name]] + rest)] = value
        elif parts[0] == 'edge_importance':
            name = parts[1] if flex else None
            num = num_joints[name]
            out[f'gcn.{parts[-1]}.gcn.PA.{layouts[name]}'] = \
                value[:, :num, :num].clone()
        elif parts[0] == 'st_gcn_networks':
            sub = '.'.join(parts[2:4])
            if sub not in _BLOCK_KEYS:
                raise CheckpointError(f'{source}: unknown ST-GCN key {key}')
            blocks.append(int(parts[1]))
            out[f'gcn.{parts[1]}.{_BLOCK_KEYS[sub]}.{parts[4]}'] = value
        elif parts[0] == 'fc':
            if len(parts) == 3 and parts[1] in ('0', '2'):  # AimCLR's MLP
                head[f'neck.projector.{parts[1]}.{parts[2]}'] = value
            elif len(parts) == 2 and pretraining:  # mlp=False projector
                head[f'neck.projector.{parts[1]}'] = value
            elif len(parts) == 2:  # one classifier for every convention
                for layout in layouts.values():
                    head[f'cls_head.fc.{layout}.{parts[1]}'] = value.clone()
            else:  # MS-CLR ensemble: one classifier per skeleton
                head[f'cls_head.fc.{layouts[parts[1]]}.{parts[2]}'] = value
        else:
            raise CheckpointError(f'{source}: unknown encoder key {key}')
    num_blocks = max(blocks) + 1
    arch = dict(
        in_channels=int(enc['st_gcn_networks.0.gcn.conv.weight'].shape[1]),
        channels=[
            int(enc[f'st_gcn_networks.{i}.tcn.0.weight'].shape[0])
            for i in range(num_blocks)
        ],
        num_stages=num_blocks,
        down_stages=list(REFERENCE_DOWN_STAGES),
        tcn_kernel_size=int(enc['st_gcn_networks.0.tcn.2.weight'].shape[2]))
    _check_backbone(out, list(layouts.values()), arch, source)
    result = OrderedDict(('backbone.' + k, v) for k, v in out.items())
    result.update(head)
    info = dict(
        source_format='MS-CLR FlexModel' if flex else 'AimCLR st_gcn.Model',
        conventions={name or 'A': layout for name, layout in layouts.items()},
        backbone=arch,
        dropped=describe_keys(dropped) if dropped else '')
    return result, info


def _check_backbone(state: Dict[str, torch.Tensor], layouts: List[str],
                    arch: dict, source: str) -> None:
    """Load the converted keys into the MSSTGCN they describe, strictly:
    no reference key is lost and none is missing."""
    from .backbones import MSSTGCN
    model = MSSTGCN(
        graph_cfg=dict(type='MultiSkeletonGraph', layouts=layouts),
        init_cfg=None,
        **arch)
    load_state_dict_strict(model, state, source, target='MSSTGCN',
                           logger='silent')


def convert_pretraining(state: Dict[str, torch.Tensor],
                        source: str = 'checkpoint',
                        stream: Optional[str] = None
                        ) -> Tuple[OrderedDict, dict]:
    """This project's checkpoint -> its query encoder only (``backbone.*``).

    Args:
        state (dict): A state dict with ``backbone.*`` (MSMoCo, MSAimCLR, an
            evaluation model) or ``streams.<stream>.backbone.*``
            (MSCrosSCLR).
        source (str): The file name, for messages.
        stream (str, optional): MSCrosSCLR's stream; required when the
            checkpoint has several.

    Returns:
        tuple: ``(state_dict, info)``.
    """
    streams = sorted({
        k.split('.')[1]
        for k in state if k.startswith('streams.') and '.backbone.' in k
    })
    if stream is None and streams:
        if len(streams) > 1:
            raise CheckpointError(f'{source}: streams {streams}; choose one '
                                  'with --stream')
        stream = streams[0]
    if stream is not None and stream not in streams:
        raise CheckpointError(f'{source}: no stream {stream!r} (it has '
                              f'{streams or "none"})')
    prefix = f'streams.{stream}.backbone.' if stream else 'backbone.'
    out = OrderedDict(('backbone.' + k[len(prefix):], v)
                      for k, v in state.items() if k.startswith(prefix))
    if not out:
        raise CheckpointError(f'{source}: no key under {prefix!r}; it holds '
                              f'{describe_keys(state)}')
    dropped = [k for k in state if not k.startswith(prefix)]
    info = dict(
        source_format='msclr_plugin' + (f' stream {stream}' if stream else ''),
        dropped=describe_keys(dropped) if dropped else '')
    return out, info


def convert_state(state: Dict[str, torch.Tensor],
                  source: str = 'checkpoint',
                  skeleton_map: Optional[dict] = None,
                  encoder_prefix: Optional[str] = None,
                  stream: Optional[str] = None) -> Tuple[OrderedDict, dict]:
    """:func:`convert_pretraining` for this project's checkpoints, else
    :func:`convert_reference`."""
    if any(k.startswith(('backbone.', 'streams.')) for k in state):
        return convert_pretraining(state, source, stream)
    return convert_reference(state, source, skeleton_map, encoder_prefix)
