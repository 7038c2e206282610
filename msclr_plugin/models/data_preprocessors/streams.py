"""Joint / bone / motion streams computed on a batch (as AimCLR does, after
augmentation), each sample with its own convention's bones."""
from functools import lru_cache
from typing import Sequence

import torch

from msclr_plugin.skeletons import get_layout

STREAMS = ('joint', 'bone', 'motion')


@lru_cache(maxsize=None)
def _parents(skeleton: str, num_joints: int) -> torch.Tensor:
    """Parent index of every joint, padded joints their own parents."""
    parents = torch.arange(num_joints)
    layout = get_layout(skeleton)
    parents[:layout.num_joints] = torch.as_tensor(layout.parents)
    return parents


def skeleton_stream(x: torch.Tensor, stream: str,
                    skeletons: Sequence[str]) -> torch.Tensor:
    """Turn joint coordinates into a stream.

    Args:
        x (torch.Tensor): ``(N, M, T, V, C)`` joints; ``V`` may exceed a
            sample's joint count (zero padding).
        stream (str): ``'joint'`` (unchanged), ``'bone'`` (each joint minus
            its parent toward the centre, the layout's ``bone_pairs``; roots
            and padded joints give zero) or ``'motion'`` (``x[t+1] - x[t]``,
            the last frame zero).
        skeletons (Sequence[str]): The convention of each sample.

    Returns:
        torch.Tensor: The stream, same shape as ``x``.
    """
    if stream not in STREAMS:
        raise ValueError(f'stream must be one of {STREAMS}, got {stream!r}')
    if stream == 'joint':
        return x
    if stream == 'motion':
        motion = torch.zeros_like(x)
        motion[:, :, :-1] = x[:, :, 1:] - x[:, :, :-1]
        return motion
    num_joints = x.shape[3]
    if len(set(skeletons)) == 1:
        parents = _parents(skeletons[0], num_joints).to(x.device)
        return x - x.index_select(3, parents)
    parents = torch.stack([_parents(s, num_joints)
                           for s in skeletons]).to(x.device)  # (N, V)
    index = parents[:, None, None, :, None].expand_as(x)
    return x - x.gather(3, index)
