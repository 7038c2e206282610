"""Helpers of the models: indices without CUDA host synchronisation, DDP."""
from typing import Iterable, Optional, Sequence, Union

import torch
from mmengine.dist import get_world_size, is_distributed


def index_tensor(indices: Sequence[int],
                 device: Union[str, torch.device]) -> torch.Tensor:
    """A long tensor of host-side indices on ``device``, copied without
    waiting for the device.

    ``torch.tensor(indices, device='cuda')`` copies from pageable memory and
    then synchronises the stream; from a pinned buffer the copy is only
    queued behind the running kernels.

    Args:
        indices (Sequence[int]): The indices.
        device (str | torch.device): Where the tensor goes.

    Returns:
        torch.Tensor: ``(len(indices),)`` int64 on ``device``.
    """
    device = torch.device(device)
    host = torch.tensor(
        indices, dtype=torch.long, pin_memory=device.type == 'cuda')
    return host.to(device, non_blocking=True)


def ddp_anchor(params: Iterable[torch.nn.Parameter]) -> Optional[torch.Tensor]:
    """A zero that depends on ``params``, while several processes train.

    DDP (without ``find_unused_parameters``, whose graph walk every step
    costs time) expects a gradient for every trainable parameter at every
    step, but a batch leaves the per-convention parameters of the
    conventions it does not hold (input BN, edge importance, classifiers)
    out of the graph. Adding this zero to an output puts them in the graph
    with a zero gradient (one element of each, so it costs nothing). In a
    single process, or without gradients, it is None and nothing changes.

    Args:
        params (Iterable[nn.Parameter]): Parameters the output does not
            depend on otherwise; frozen ones are skipped.

    Returns:
        torch.Tensor | None: A zero scalar, or None.
    """
    if not (torch.is_grad_enabled() and is_distributed()
            and get_world_size() > 1):
        return None
    ends = [p.reshape(-1)[:1] for p in params if p.requires_grad]
    return torch.cat(ends).sum() * 0. if ends else None
