"""Linear classifier(s) on pooled skeleton features, one per convention."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmaction.models.heads.base import BaseHead
from mmaction.registry import MODELS
from mmaction.utils import SampleList
from msclr_plugin.skeletons import get_layout
from ..utils import ddp_anchor, index_tensor

Conventions = Union[None, str, Sequence[str]]


@MODELS.register_module()
class MSLinearHead(BaseHead):
    """Linear-evaluation head with skeleton-specific classifiers.

    With ``skeleton_specific=True`` it holds one ``nn.Linear`` per convention
    (``fc[<convention>]``, MS-CLR's ensemble mode) and every sample is
    classified by the classifier of its own convention, so a batch mixing
    conventions trains each classifier only on its samples (the loss is the
    batch mean of the per-sample cross-entropies). Otherwise one classifier
    (``fc``) is shared by all conventions.

    At test time an item may come in several views (one per convention of the
    clip). Their scores are fused per ``view_fusion``:

    - ``'softmax'`` (default; the paper's skeleton-specific ensemble): the
      mean over views of the per-view softmax. The head returns
      ``log(mean softmax)`` as the fused score, whose softmax IS that mean,
      so ``average_clips='prob'`` (the default) writes exactly the mean
      probability into ``pred_score``.
    - ``'logits'`` (the MS-CLR code's soft voting): the mean of the raw
      logits.

    A single view is never transformed: ``average_clips`` alone decides
    (``'prob'``: softmax, ``'score'``/``None``: raw logits, as in mmaction2).
    Every prediction also keeps the fused score before ``average_clips`` as
    ``pred_raw_score`` (the logits of a single view; ``log(mean softmax)``
    or the mean logits of several), which test dumps carry for stream
    fusion on raw scores (``tools/ensemble.py``), as AimCLR and MS-CLR fuse.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Channels of the pooled feature.
        skeletons (Sequence[str], optional): Names of the conventions that
            get their own classifier; required when ``skeleton_specific``.
            :class:`MSRecognizerGCN` fills in its backbone's conventions.
        skeleton_specific (bool): One classifier per convention. Defaults to
            True.
        test_classifier (str, optional): At test time classify every sample
            with this convention's classifier (cross-convention transfer: train
            on A, test on B). Defaults to None (each sample's own).
        view_fusion (str): ``'softmax'`` or ``'logits'``, see above.
        dropout (float): Dropout before the classifier. Defaults to 0.
        feat_norm (bool): L2-normalise the features, then standardise them
            with a parameter-free BatchNorm (eps 1e-10) before the
            classifiers (MAE's linear-probe recipe, which makes short probes
            converge; AimCLR's protocol has none). The probe is then blind to
            the features' scale: a randomly initialised encoder's features
            are ~1e-7 in size, and pooled features often share one direction
            with a per-dimension spread of 1e-4 of their norm (measured on
            small pretrainings, docs/results.md); BatchNorm's default eps
            (1e-5, a variance) would flatten either to zero. Defaults to
            False.
        loss_cls (dict): Loss config. Defaults to ``CrossEntropyLoss``.
        topk (int | tuple[int]): Top-k accuracies logged with the loss.
            Defaults to ``(1, 5)``.
        average_clips (str, optional): ``'prob'``, ``'score'`` or None, as in
            mmaction2's ``BaseHead``. Defaults to ``'prob'``.
        init_cfg (dict): Defaults to ``Normal(std=0.01)`` on the classifiers.
        **kwargs: Other :class:`BaseHead` arguments.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 skeletons: Optional[Sequence[str]] = None,
                 skeleton_specific: bool = True,
                 test_classifier: Optional[str] = None,
                 view_fusion: str = 'softmax',
                 dropout: float = 0.,
                 feat_norm: bool = False,
                 loss_cls: Dict = dict(type='CrossEntropyLoss'),
                 topk: Union[int, Tuple[int]] = (1, 5),
                 average_clips: Optional[str] = 'prob',
                 init_cfg: Optional[Dict] = dict(
                     type='Normal', layer='Linear', std=0.01),
                 **kwargs) -> None:
        super().__init__(
            num_classes,
            in_channels,
            loss_cls=loss_cls,
            topk=topk,
            average_clips=average_clips,
            init_cfg=init_cfg,
            **kwargs)
        if view_fusion not in ('softmax', 'logits'):
            raise ValueError(f"view_fusion must be 'softmax' or 'logits', got "
                             f'{view_fusion!r}')
        self.view_fusion = view_fusion
        self.skeleton_specific = skeleton_specific
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.feat_norm_l2 = feat_norm
        self.feat_norm = nn.BatchNorm1d(
            in_channels, eps=1e-10, affine=False) if feat_norm else nn.Identity()
        if skeleton_specific:
            if not skeletons:
                raise ValueError('skeleton_specific=True needs the list of '
                                 'conventions (skeletons=[...])')
            self.skeletons = list(skeletons)
            self.fc = nn.ModuleDict({
                name: nn.Linear(in_channels, num_classes)
                for name in self.skeletons
            })
        else:
            self.skeletons = list(skeletons or [])
            self.fc = nn.Linear(in_channels, num_classes)
        self.test_classifier = None
        if test_classifier is not None:
            self.test_classifier = self._key(test_classifier)

    def _key(self, skeleton: str) -> str:
        """The convention's name among ``skeletons`` (aliases resolved)."""
        if skeleton in self.skeletons or not self.skeleton_specific:
            return skeleton
        try:
            name = get_layout(skeleton).name
        except (KeyError, ValueError, TypeError):
            name = None
        if name not in self.skeletons:
            raise KeyError(f'MSLinearHead has no classifier for convention '
                           f'{skeleton!r}; it has {self.skeletons}')
        return name

    def forward(self,
                x: torch.Tensor,
                skeletons: Conventions = None,
                **kwargs) -> torch.Tensor:
        """Classify pooled features.

        Args:
            x (torch.Tensor): ``(N, in_channels)`` pooled features, or
                ``(N, M, C, T, V)`` backbone features (then plainly averaged
                over persons, time and joints, as mmaction2's ``GCNHead``).
            skeletons (str | Sequence[str], optional): Convention of the
                batch or of every sample; needed when ``skeleton_specific``.

        Returns:
            torch.Tensor: ``(N, num_classes)`` logits.
        """
        if x.dim() == 5:
            x = x.mean(dim=(1, 3, 4))
        if self.feat_norm_l2:
            x = F.normalize(x, dim=1)
        x = self.dropout(self.feat_norm(x))
        if not self.skeleton_specific:
            return self.fc(x)
        if skeletons is None:
            if len(self.skeletons) > 1:
                raise ValueError('MSLinearHead: pass the convention of each '
                                 f'sample (classifiers for {self.skeletons})')
            skeletons = self.skeletons[0]
        if isinstance(skeletons, str):
            skeletons = [skeletons] * x.shape[0]
        if len(skeletons) != x.shape[0]:
            raise ValueError(f'{len(skeletons)} conventions for '
                             f'{x.shape[0]} samples')
        keys = [self._key(s) for s in skeletons]
        if len(set(keys)) == 1:
            out = self.fc[keys[0]](x)
        else:
            # Route each sample through its own classifier only, so a
            # classifier gets no gradient from samples of other conventions.
            out = x.new_zeros(x.shape[0], self.num_classes)
            for key in dict.fromkeys(keys):
                rows = index_tensor([i for i, k in enumerate(keys) if k == key],
                                    x.device)
                out = out.index_copy(0, rows,
                                     self.fc[key](x.index_select(0, rows)))
        anchor = ddp_anchor(p for name in self.skeletons if name not in keys
                            for p in self.fc[name].parameters())
        return out if anchor is None else out + anchor

    def loss(self, feats: torch.Tensor, data_samples: SampleList,
             skeletons: Conventions = None, **kwargs) -> Dict:
        """Cross-entropy of every sample under its own classifier.

        Args:
            feats (torch.Tensor): ``(N, in_channels)`` pooled features.
            data_samples (list[ActionDataSample]): With ``gt_label``.
            skeletons (str | Sequence[str], optional): Conventions.

        Returns:
            dict: ``loss_cls`` and ``top{k}_acc``.
        """
        return self.loss_by_feat(self(feats, skeletons), data_samples)

    def predict(self,
                feats: Union[torch.Tensor, List[torch.Tensor]],
                data_samples: SampleList,
                skeletons: Union[Conventions, List[Conventions]] = None,
                **kwargs) -> SampleList:
        """Fuse the views of every item and write ``pred_score``.

        Args:
            feats (torch.Tensor | list[torch.Tensor]): Pooled features of one
                view, or a list with one ``(N * num_clips, C)`` tensor per view.
            data_samples (list[ActionDataSample]): The batch data samples.
            skeletons: Conventions of the single view, or a list with those
                of every view.

        Returns:
            list[ActionDataSample]: With ``pred_score``, ``pred_label`` and
            ``pred_raw_score``.
        """
        return self.predict_by_feat(
            self.fuse_views(feats, skeletons), data_samples)

    def predict_by_feat(self, cls_scores: torch.Tensor,
                        data_samples: SampleList) -> SampleList:
        """``BaseHead.predict_by_feat`` plus ``pred_raw_score``: the scores
        before ``average_clips``, averaged over an item's clips."""
        raw = cls_scores.detach().view(len(data_samples), -1,
                                       cls_scores.shape[-1]).mean(1)
        data_samples = super().predict_by_feat(cls_scores, data_samples)
        for sample, score in zip(data_samples, raw):
            sample.set_field(score, 'pred_raw_score')
        return data_samples

    def fuse_views(self, feats: Union[torch.Tensor, List[torch.Tensor]],
                   skeletons: Union[Conventions, List[Conventions]] = None
                   ) -> torch.Tensor:
        """Fused ``(N * num_clips, num_classes)`` scores of several views."""
        if isinstance(feats, torch.Tensor):
            feats, skeletons = [feats], [skeletons]
        if skeletons is None:
            skeletons = [None] * len(feats)
        if len(skeletons) != len(feats):
            raise ValueError(f'{len(skeletons)} convention lists for '
                             f'{len(feats)} views')
        logits = []
        for feat, skel in zip(feats, skeletons):
            if self.test_classifier is not None:
                skel = self.test_classifier
            logits.append(self(feat, skel))
        if len(logits) == 1:
            return logits[0]
        logits = torch.stack(logits)
        if self.view_fusion == 'logits':
            return logits.mean(0)
        probs = F.softmax(logits, dim=-1).mean(0)
        return probs.clamp_min(torch.finfo(probs.dtype).tiny).log()
