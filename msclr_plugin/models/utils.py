"""Helpers that keep a training step free of CUDA host synchronisation."""
from typing import Sequence, Union

import torch


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
