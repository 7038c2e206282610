"""Supervised / linear-evaluation recognizer over several skeleton views."""
import copy
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper

from mmaction.models.recognizers.base import BaseRecognizer
from mmaction.registry import MODELS
from mmaction.utils import OptSampleList, SampleList
from msclr_plugin.utils.checkpoint import LoadReport, load_checkpoint_strict

Inputs = Union[torch.Tensor, Dict[str, torch.Tensor]]


def masked_pool(feat: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Average backbone features over time, REAL joints and persons.

    Args:
        feat (torch.Tensor): ``(N, M, C, T, V)`` backbone output (padded
            joints zero, as :class:`MSSTGCN` returns them).
        mask (torch.Tensor, optional): ``(N, V)`` bool mask of real joints
            (``MSSTGCN.joint_mask``); None when every joint is real.

    Returns:
        torch.Tensor: ``(N, C)`` features (mean over M of the per-person
        means, as AimCLR pools).
    """
    if mask is None:
        return feat.mean(dim=(1, 3, 4))
    real = mask.to(feat.dtype).sum(1).clamp_min(1) * feat.shape[3]
    summed = (feat * mask[:, None, None, None, :].to(feat.dtype)).sum((3, 4))
    return (summed / real[:, None, None]).mean(1)


def embed(backbone: nn.Module, x: torch.Tensor,
          skeletons: Union[str, Sequence[str]]) -> torch.Tensor:
    """Pooled ``(N, C)`` features of a ``(N, M, T, V, C)`` batch."""
    feat = backbone(x, skeletons)
    mask = backbone.joint_mask(skeletons, x.shape[0], x.shape[3])
    return masked_pool(feat, mask)


def view_conventions(data_samples: OptSampleList, view: str,
                     batch_size: int,
                     default: Optional[str] = None) -> Union[str, List[str]]:
    """Conventions of one view: from each sample's ``skeletons`` metainfo.

    Falls back to ``default`` for samples without that metainfo (plain
    mmaction2 pipelines); errors name the clip and the view.
    """
    if not data_samples:
        if default is None:
            raise ValueError(f'view {view!r}: no data samples and no '
                             'default_skeleton to tell its convention')
        return default
    convs = []
    for sample in data_samples:
        skel = sample.metainfo.get('skeletons')
        if skel is None:
            if default is None:
                raise ValueError(
                    f'clip {sample.metainfo.get("clip_name", "?")}: no '
                    "'skeletons' metainfo and no default_skeleton")
            convs.append(default)
        elif view not in skel:
            raise KeyError(
                f'clip {sample.metainfo.get("clip_name", "?")}: view '
                f'{view!r} missing from its skeletons {dict(skel)}')
        else:
            convs.append(skel[view])
    if len(convs) != batch_size:
        raise ValueError(f'{len(convs)} data samples for a batch of '
                         f'{batch_size}')
    return convs[0] if len(set(convs)) == 1 else convs


def plain_conventions(data_samples: OptSampleList,
                      default: Optional[str] = None) -> Union[str, List[str]]:
    """Conventions of a plain tensor batch: each sample's single-entry
    ``skeletons`` metainfo, else ``default``."""
    if data_samples and data_samples[0].metainfo.get('skeletons'):
        convs = []
        for sample in data_samples:
            skel = dict(sample.metainfo['skeletons'])
            if len(skel) != 1:
                raise ValueError(
                    f'clip {sample.metainfo.get("clip_name", "?")}: a '
                    f'plain tensor input but {len(skel)} views {skel}')
            convs.extend(skel.values())
        return convs[0] if len(set(convs)) == 1 else convs
    if default is None:
        raise ValueError('plain tensor input without skeletons metainfo: '
                         'set default_skeleton')
    return default


@MODELS.register_module()
class MSRecognizerGCN(BaseRecognizer):
    """Recognizer for (linear) evaluation of an :class:`MSSTGCN`.

    Inputs are either a dict of views ``{view: (N, M, T, V, C)}`` whose
    conventions each data sample names in its metainfo ``skeletons``
    (``{view: convention}``, see docs/design.md section 3), or a plain
    mmaction2 tensor ``(N, num_clips, M, T, V, C)`` / ``(N, M, T, V, C)`` of
    ``default_skeleton`` (or the convention named by a single-entry
    ``skeletons`` metainfo).

    Every view is embedded by the backbone with its per-sample conventions and
    pooled over time and real joints, then persons (:func:`masked_pool`).
    Training: the head classifies every (view, sample) with that sample's
    convention; the loss is the mean over them. Test: the head fuses the views
    of an item (``MSLinearHead.view_fusion``: mean softmax by default).

    Linear probe: build the backbone with ``frozen_stages=num_stages`` (no
    gradient, eval-mode BatchNorm and dropout even under ``.train()``) and
    load the pretrained encoder with ``init_cfg=dict(type='Pretrained',
    checkpoint=..., prefix='backbone.')`` or :func:`load_pretrained_backbone`.

    Args:
        backbone (dict): :class:`MSSTGCN` config.
        cls_head (dict): Head config (:class:`MSLinearHead`); its
            ``skeletons`` default to the backbone's conventions.
        default_skeleton (str, optional): Convention of plain tensor inputs
            whose samples carry no ``skeletons`` metainfo.
        neck, train_cfg, test_cfg, data_preprocessor: As in
            :class:`BaseRecognizer`.
    """

    def __init__(self,
                 backbone: dict,
                 cls_head: Optional[dict] = None,
                 default_skeleton: Optional[str] = None,
                 neck: Optional[dict] = None,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(
            backbone,
            cls_head=None,
            neck=neck,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor)
        if cls_head is not None:
            cls_head = copy.deepcopy(cls_head)
            if cls_head.get('skeletons') is None:
                cls_head['skeletons'] = list(self.backbone.names)
            self.cls_head = MODELS.build(cls_head)
        if default_skeleton is None and len(self.backbone.names) == 1:
            default_skeleton = self.backbone.names[0]
        self.default_skeleton = default_skeleton

    def extract_feat(self,
                     inputs: Inputs,
                     data_samples: OptSampleList = None,
                     stage: str = 'pool',
                     **kwargs) -> Tuple[OrderedDict, dict]:
        """Embed every view.

        Args:
            inputs (Tensor | dict[str, Tensor]): Views, or one plain tensor.
            data_samples (list[ActionDataSample], optional): For conventions.
            stage (str): ``'backbone'`` (raw ``(N, M, C, T, V)`` features),
                ``'pool'`` (``(N, C)``, default) or ``'head'`` (logits).

        Returns:
            tuple: ``({view: features}, {view: conventions})``. Plain tensors
            with ``num_clips`` are flattened to ``N * num_clips`` rows.
        """
        views = self._views(inputs, data_samples)
        feats, convs = OrderedDict(), OrderedDict()
        for view, (x, skel) in views.items():
            feat = self.backbone(x, skel)
            if stage != 'backbone':
                feat = masked_pool(
                    feat, self.backbone.joint_mask(skel, x.shape[0],
                                                   x.shape[3]))
            if stage == 'head':
                feat = self.cls_head(feat, skel)
            feats[view], convs[view] = feat, skel
        return feats, convs

    def _views(self, inputs: Inputs, data_samples: OptSampleList) -> dict:
        """``{view: (x (N', M, T, V, C), conventions)}``."""
        if isinstance(inputs, torch.Tensor):
            num_clips = 1
            if inputs.dim() == 6:
                num_clips = inputs.shape[1]
                inputs = inputs.flatten(0, 1)
            elif inputs.dim() != 5:
                raise ValueError('expected (N, [num_clips,] M, T, V, C) '
                                 f'skeletons, got {tuple(inputs.shape)}')
            skel = plain_conventions(data_samples, self.default_skeleton)
            if not isinstance(skel, str) and num_clips > 1:
                skel = [s for s in skel for _ in range(num_clips)]
            return {None: (inputs, skel)}
        if not isinstance(inputs, dict) or not inputs:
            raise TypeError('MSRecognizerGCN expects a tensor or a non-empty '
                            f'dict of views, got {type(inputs).__name__}')
        return {
            view: (x, view_conventions(data_samples, view, x.shape[0],
                                       self.default_skeleton))
            for view, x in inputs.items()
        }

    def loss(self, inputs: Inputs, data_samples: SampleList,
             **kwargs) -> dict:
        """Mean cross-entropy over every (view, sample) pair."""
        feats, convs = self.extract_feat(inputs, data_samples)
        skeletons = []
        for view, feat in feats.items():
            skel = convs[view]
            skeletons += [skel] * feat.shape[0] if isinstance(
                skel, str) else list(skel)
        samples = list(data_samples) * len(feats)
        if isinstance(inputs, torch.Tensor) and inputs.dim() == 6:
            samples = [s for s in data_samples for _ in range(inputs.shape[1])]
        return self.cls_head.loss(
            torch.cat(list(feats.values())), samples, skeletons=skeletons)

    def predict(self, inputs: Inputs, data_samples: SampleList,
                **kwargs) -> SampleList:
        """Scores fused over the views (and clips) of each item."""
        feats, convs = self.extract_feat(inputs, data_samples)
        return self.cls_head.predict(
            list(feats.values()), data_samples,
            skeletons=list(convs.values()))

    def forward(self,
                inputs: Inputs,
                data_samples: OptSampleList = None,
                mode: str = 'tensor',
                **kwargs):
        """``mode='tensor'`` returns ``{view: (N, C)}`` pooled features
        (a tensor for plain inputs); ``stage`` selects another level."""
        if mode == 'tensor':
            feats, _ = self.extract_feat(inputs, data_samples, **kwargs)
            return feats[None] if None in feats else dict(feats)
        return super().forward(inputs, data_samples, mode, **kwargs)


def load_pretrained_backbone(model: nn.Module,
                             filename: str,
                             prefix: str = 'backbone.',
                             target: str = 'backbone',
                             map_location: str = 'cpu',
                             logger=None) -> LoadReport:
    """Load a checkpoint's encoder into a model's backbone, strictly.

    The pretraining recognizers store the query encoder under ``backbone.*``
    (MSCrosSCLR: ``streams.<stream>.backbone.*``); every other key (key
    encoder, projector, queue, a head) is left out by name. The encoder must
    fit ``model.<target>`` exactly (see :func:`load_state_dict_strict`); the
    rest of ``model`` is untouched. One log line says what was loaded.

    Args:
        model (nn.Module): The model (e.g. :class:`MSRecognizerGCN`).
        filename (str): Checkpoint path (``{'state_dict': ...}`` or a plain
            state dict).
        prefix (str): Encoder prefix in the checkpoint.
        target (str): The model's attribute that receives it.
        map_location (str): Passed to the loader. Defaults to ``'cpu'``.
        logger: Where to report; the current logger if None.

    Returns:
        LoadReport: The keys loaded and left out.

    Raises:
        CheckpointMismatchError: The encoder does not fit the backbone.
    """
    if is_model_wrapper(model):
        model = model.module
    return load_checkpoint_strict(
        getattr(model, target),
        filename,
        prefix=prefix,
        map_location=map_location,
        target=f'{type(model).__name__}.{target}',
        logger=logger or 'current')
