"""Pooling + projection neck of the contrastive encoders."""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule

from mmaction.registry import MODELS
from ..layers import ConventionBatchNorm

AIMCLR_NECK_INIT = dict(type='Normal', layer='Linear', std=0.02, bias=0)


@MODELS.register_module()
class MSProjectionNeck(BaseModule):
    """Global average pooling over real joints, then AimCLR's projector.

    The backbone output ``(N, M, C, T, V)`` is averaged over ``T`` and the
    real joints of each sample (padded joints are excluded from the count,
    so a zero-padded clip pools exactly like its native-size version), then
    over the persons ``M``; the ``(N, C)`` feature goes through
    ``Linear(C, hid)-ReLU-Linear(hid, out)`` (``with_mlp=True``, AimCLR's
    ``mlp=True``) or a single ``Linear(C, out)``.

    Args:
        in_channels (int): Backbone output channels. Defaults to 256.
        hid_channels (int): Hidden width of the MLP. Defaults to 256.
        out_channels (int): Embedding size. Defaults to 128.
        with_mlp (bool): Two-layer MLP (True) or one linear layer.
            Defaults to True.
        norm_cfg (dict, optional): A normalisation layer after the MLP's
            hidden linear layer (e.g. ``dict(type='BN1d')``, SimCLR's and
            MoCo v3's projector). It centres the embeddings, which a
            randomly initialised encoder maps into a narrow cone (pooled
            ReLU features share a large common component), so the
            contrastive task has a gradient from the first step; AimCLR's
            projector has none. Defaults to None.
        per_convention_bn (bool): The hidden normalisation keeps running
            statistics per convention (:class:`ConventionBatchNorm`; needs
            ``norm_cfg``). Defaults to False.
        shared_bn_affine (bool): With ``per_convention_bn``, one affine
            transform for all conventions. Defaults to True.
        conventions (Sequence[str]): The backbone's conventions, for
            ``per_convention_bn``. Defaults to ().
        out_norm_cfg (dict, optional): A normalisation layer after the last
            linear layer (MoCo v3's ``dict(type='BN1d', affine=False)``): the
            embeddings are centred before the cosine, so the negatives are
            not all alike at the first steps (the loss then has a gradient
            from the start; with AimCLR's projector and a random encoder
            every pair sits at cosine 0.99). Defaults to None.
        init_cfg (dict | list, optional): Defaults to AimCLR's
            ``N(0, 0.02)`` weights with zero bias.
    """

    def __init__(
            self,
            in_channels: int = 256,
            hid_channels: int = 256,
            out_channels: int = 128,
            with_mlp: bool = True,
            norm_cfg: Optional[dict] = None,
            per_convention_bn: bool = False,
            shared_bn_affine: bool = True,
            conventions: Sequence[str] = (),
            out_norm_cfg: Optional[dict] = None,
            init_cfg: Optional[Union[dict, List[dict]]] = AIMCLR_NECK_INIT) -> None:
        super().__init__(init_cfg=init_cfg)
        self.in_channels = in_channels
        self.out_channels = out_channels
        if per_convention_bn and (norm_cfg is None or not with_mlp):
            raise ValueError('per_convention_bn needs with_mlp and a norm_cfg '
                             "(dict(type='BN1d'))")
        if with_mlp:
            norm = [] if norm_cfg is None else [
                ConventionBatchNorm(hid_channels, conventions, shared_bn_affine, dims=1)
                if per_convention_bn else build_norm_layer(norm_cfg, hid_channels)[1]
            ]
            self.projector = nn.Sequential(
                nn.Linear(in_channels, hid_channels), *norm, nn.ReLU(inplace=True),
                nn.Linear(hid_channels, out_channels))
        else:
            self.projector = nn.Linear(in_channels, out_channels)
        if out_norm_cfg is not None:
            self.projector = nn.Sequential(
                *(self.projector if with_mlp else [self.projector]),
                build_norm_layer(out_norm_cfg, out_channels)[1])

    @staticmethod
    def pool(x: torch.Tensor, mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Average ``(N, M, C, T, V)`` features to ``(N, C)``.

        Args:
            x (torch.Tensor): Backbone features (padded joints are zero).
            mask (torch.Tensor, optional): ``(N, V)`` bool, True on real
                joints; None when every joint is real.

        Returns:
            torch.Tensor: The pooled ``(N, C)`` feature (kNN / linear
            features, before projection).
        """
        if x.dim() != 5:
            raise ValueError('MSProjectionNeck expects (N, M, C, T, V) '
                             f'features, got shape {tuple(x.shape)}')
        if mask is None:
            return x.mean(dim=(1, 3, 4))
        # Padded joints are zero, so the sum is over real joints already;
        # only the denominator needs the real count.
        count = mask.sum(dim=1).to(x.dtype) * x.shape[3] * x.shape[1]
        return x.sum(dim=(1, 3, 4)) / count.clamp(min=1)[:, None]

    def forward(self,
                x: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Pool and project.

        Args:
            x (torch.Tensor): ``(N, M, C, T, V)`` backbone features, or an
                already pooled ``(N, C)`` feature.
            mask (torch.Tensor, optional): ``(N, V)`` real-joint mask.

        Returns:
            torch.Tensor: ``(N, out_channels)`` embeddings (not normalised).
        """
        if x.dim() == 5:
            x = self.pool(x, mask)
        return self.projector(x)
