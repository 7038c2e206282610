"""InfoNCE with one or several positives per query."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.registry import MODELS


@MODELS.register_module()
class MultiPosInfoNCELoss(nn.Module):
    """InfoNCE over ``[positive | negatives]`` logits, optionally with
    several positives (AimCLR's nearest-neighbour mining).

    Without ``pos_mask`` it is ``CrossEntropy(logits, 0)`` (MoCo). With a
    ``(N, 1 + K)`` positive mask it is
    ``mean_n [ -sum_{i in P_n} log softmax(logits_n)_i / |P_n| ]``.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self,
                logits: torch.Tensor,
                pos_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Compute the loss.

        Args:
            logits (torch.Tensor): ``(N, 1 + K)`` logits (already divided by
                the temperature), the true key in column 0.
            pos_mask (torch.Tensor, optional): ``(N, 1 + K)`` bool or 0/1
                mask of positives (column 0 must be set).

        Returns:
            torch.Tensor: The scalar loss.
        """
        if pos_mask is None:
            labels = logits.new_zeros(logits.shape[0], dtype=torch.long)
            return self.loss_weight * F.cross_entropy(logits, labels)
        pos_mask = pos_mask.to(logits.dtype)
        log_prob = F.log_softmax(logits, dim=1)
        loss = -(log_prob * pos_mask).sum(dim=1) / pos_mask.sum(dim=1)
        return self.loss_weight * loss.mean()
