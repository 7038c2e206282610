"""AimCLR's dual distributional divergence minimisation (D3M) loss."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.registry import MODELS


@MODELS.register_module()
class D3MLoss(nn.Module):
    """Cross-entropy of a detached target distribution against a student.

    ``L = -mean_n sum_i softmax(target)_ni * log softmax(student)_ni``, i.e.
    ``H(p_target, p_student)`` (equal to ``KL(p_target || p_student)`` up to
    a constant). The target is detached: gradients reach the student only.
    AimCLR takes ``log(softmax(.))``; ``log_softmax`` is the same value
    without underflow to ``-inf``.

    Args:
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, student_logits: torch.Tensor,
                target_logits: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            student_logits (torch.Tensor): ``(N, 1 + K)`` logits of the
                extreme query (already divided by the temperature).
            target_logits (torch.Tensor): ``(N, 1 + K)`` logits of the normal
                query; detached here.

        Returns:
            torch.Tensor: The scalar loss.
        """
        target = F.softmax(target_logits.detach(), dim=1)
        loss = -(target * F.log_softmax(student_logits, dim=1)).sum(dim=1)
        return self.loss_weight * loss.mean()
