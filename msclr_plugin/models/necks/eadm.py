"""EADM: AimCLR's energy-based attention-guided drop."""
from typing import Optional

import torch
import torch.nn as nn

from mmaction.registry import MODELS


@MODELS.register_module()
class EnergyAttentionDrop(nn.Module):
    """Energy-based attention-guided drop module (EADM) of AimCLR.

    SimAM energy attention is computed on the last feature map; joints whose
    mean attention is high are dropped, then individual (channel, frame,
    joint) entries whose attention is high are dropped (AimCLR calls this
    the "temporal" drop; it is element-wise, not whole frames). Both masks
    come from the attention of the input (before the joint drop), and each
    drop rescales by ``#entries / #kept`` over the whole batch so the mean
    magnitude is preserved.

    This implements the intended semantics of AimCLR's ``Simam_Drop``
    (Levigty/AimCLR commit d12da71: entries with attention ``>= keep_prob``
    are dropped); the other stored version of that file builds all-ones
    masks and drops nothing. Deliberate additions: padded joints (``mask``)
    are excluded from the attention means, never dropped and not counted in
    the rescale, and a stage that would drop every entry of the batch is
    skipped (the reference would divide by zero).

    Args:
        keep_prob (float): Attention threshold; entries with attention
            ``>= keep_prob`` are dropped. AimCLR passes 0.7. Note that the
            SimAM attention is always ``>= sigmoid(0.5) = 0.622``.
        e_lambda (float): SimAM's regulariser lambda. Defaults to 1e-4.
        drop_joints (bool): Apply the joint drop. Defaults to True.
        drop_elements (bool): Apply the element-wise ("temporal") drop.
            Defaults to True.
    """

    def __init__(self,
                 keep_prob: float = 0.7,
                 e_lambda: float = 1e-4,
                 drop_joints: bool = True,
                 drop_elements: bool = True) -> None:
        super().__init__()
        self.keep_prob = keep_prob
        self.e_lambda = e_lambda
        self.drop_joints = drop_joints
        self.drop_elements = drop_elements

    def attention(self,
                  x: torch.Tensor,
                  mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """SimAM attention of ``(B, C, T, V)`` features.

        Args:
            x (torch.Tensor): Features.
            mask (torch.Tensor, optional): ``(B, V)`` bool, True on real
                joints.

        Returns:
            torch.Tensor: Attention of ``x``'s shape, in ``[0.622, 1)``.
        """
        T = x.shape[2]
        if mask is None:
            count = torch.full((x.shape[0], 1, 1, 1),
                               T * x.shape[3],
                               dtype=x.dtype,
                               device=x.device)
            weight = None
        else:
            weight = mask[:, None, None, :].to(x.dtype)
            count = weight.sum(dim=3, keepdim=True) * T
        masked = x if weight is None else x * weight
        mu = masked.sum(dim=(2, 3), keepdim=True) / count
        d = (x - mu).square()
        d_sum = (d if weight is None else d * weight).sum(dim=(2, 3), keepdim=True)
        y = d / (4 * (d_sum / (count - 1).clamp(min=1) + self.e_lambda)) + 0.5
        return torch.sigmoid(y)

    @staticmethod
    def _rescaled(keep: torch.Tensor,
                  real: Optional[torch.Tensor]) -> torch.Tensor:
        """Float keep mask times ``#real / #kept`` (both over the batch);
        1 on padded entries, and 1 everywhere when nothing would be kept (no
        drop). Decided on the device: testing ``#kept`` on the host would
        wait for the step."""
        if real is not None:
            keep = keep & real
            num_real = real.sum()
        else:
            num_real = keep.numel()
        num_kept = keep.sum()
        scale = keep.to(torch.float32) * (num_real / num_kept)
        use = num_kept > 0 if real is None else real & (num_kept > 0)
        return torch.where(use, scale, torch.ones_like(scale))

    def forward(self,
                x: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Drop high-attention joints and entries.

        Args:
            x (torch.Tensor): ``(N, M, C, T, V)`` backbone features (or
                ``(B, C, T, V)``); padded joints are expected to be zero.
            mask (torch.Tensor, optional): ``(N, V)`` bool, True on real
                joints; None when all joints are real.

        Returns:
            torch.Tensor: The dropped and rescaled features, same shape.
        """
        shape = x.shape
        if x.dim() == 5:
            N, M = shape[:2]
            x = x.reshape((N * M, ) + shape[2:])
            if mask is not None:
                mask = mask.repeat_interleave(M, dim=0)
        with torch.no_grad():
            att = self.attention(x.detach(), mask)
            scales = []
            if self.drop_joints:
                joint_att = att.mean(dim=(1, 2))  # (B, V)
                scale = self._rescaled(joint_att < self.keep_prob, mask)
                scales.append(scale[:, None, None, :])
            if self.drop_elements:
                real = None if mask is None else mask[:, None,
                                                      None, :].expand(att.shape)
                scales.append(self._rescaled(att < self.keep_prob, real))
        for scale in scales:
            x = x * scale.to(x.dtype)
        return x.reshape(shape)
