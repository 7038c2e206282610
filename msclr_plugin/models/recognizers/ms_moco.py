"""MoCo v2 pretraining over one or several skeleton conventions."""
import copy
import math
import warnings
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.dist import all_gather, broadcast, get_rank, get_world_size
from mmengine.dist import all_reduce
from mmengine.model import BaseModel
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from mmaction.registry import MODELS
from ..cuda_graphs import StepGraphs
from ..layers import set_norm_conventions
from ..utils import index_tensor

Encoded = Tuple[torch.Tensor, Optional[torch.Tensor]]


@MODELS.register_module()
class MSMoCo(BaseModel):
    """MoCo v2 (as in AimCLR) with a multi-skeleton encoder (MS-CLR).

    The query encoder is ``backbone`` + ``neck``; the key encoder
    (``momentum_backbone``, ``momentum_neck``) is a copy that gets no
    gradients and follows the query encoder by an exponential moving
    average of the parameters, ``theta_k <- m * theta_k + (1 - m) *
    theta_q``. Buffers are not averaged: the key encoder runs in train mode
    and keeps its own BatchNorm statistics, as in AimCLR. Keys fill one
    shared queue of negatives; the loss is InfoNCE over
    ``[q.k, q.queue] / T``. With a single convention this is MoCo v2 with
    AimCLR's settings.

    Inputs of :meth:`loss` are a dict of views ``{'query': (N, M, T, V, C),
    'key': (N, M, T, V', C)}``; each data sample carries
    ``metainfo['skeletons'] = {view: convention}``, and the per-sample
    conventions of a view are passed to the backbone (a uniform list is its
    fast path; a mixed, zero-padded batch is masked).

    The queue, its pointer and the key encoder are in the state dict, so a
    checkpoint resumes exactly. The key encoder is copied from the query
    encoder again after :meth:`init_weights` (AimCLR copies before its
    weight init, so its key encoder starts from a different random
    initialisation; we start both equal, as MoCo does).

    Args:
        backbone (dict): Backbone config (``MSSTGCN``).
        neck (dict): Neck config (``MSProjectionNeck``).
        queue_len (int): Number of negatives K. Defaults to 32768.
        feat_dim (int): Embedding size (the neck's output). Defaults to 128.
        momentum (float): EMA coefficient m of the key encoder.
            Defaults to 0.999.
        temperature (float): InfoNCE temperature. Defaults to 0.07.
        loss_nce (dict): Config of the InfoNCE loss.
            Defaults to ``dict(type='MultiPosInfoNCELoss')``.
        shuffle_bn (bool): MoCo's shuffling BN: the key batch is shuffled
            across ranks before the key encoder and unshuffled after. It has
            no effect (a warning) in a single process. Defaults to False.
        query_view (str): Name of the query view. Defaults to ``'query'``.
        key_view (str): Name of the key view. Defaults to ``'key'``.
        cuda_graph (bool): Replay each training step's forward and backward
            from a CUDA graph captured per input signature
            (:class:`~msclr_plugin.models.cuda_graphs.StepGraphs`): for
            batches of one convention per view on one GPU (grouped batches,
            ``ConventionGroupedBatchSampler``); mixed batches, CPU and
            several processes run eagerly. The step stays the same
            computation (dropout masks may differ from an eager run's).
            Needs ``OptimWrapper`` or ``AutocastOptimWrapper``, and torch
            >= 2.4. Defaults to False.
        log_convention_cosines (bool): Log the mean cosine of the positive
            (``cos_pos_<conv>``) and of the queue negatives
            (``cos_neg_<conv>``) by the convention of the key: whether the
            positive stands out equally for every convention. Logging only
            (detached means). Defaults to True.
        symmetric (bool): Add the mirrored pair (MoCo v3's symmetrised
            loss): the key view through the query encoder against the query
            view through the key encoder, with the same negatives; the NCE
            loss is the mean of both directions. Every clip then pulls its
            rendering in the other convention towards itself from both
            sides (issue 21). Costs one more query-encoder pass; only the
            key view's keys are queued. Defaults to False.
        extra_key_view (str, optional): A second positive: this view (e.g.
            the query's convention with its own augmentation draws, the
            dataset's ``extra_views=dict(key_same='query')``) through the
            key encoder; the NCE loss is the mean of the query against the
            key and against it, with the same negatives (and the same mined
            positives). Only the key view's keys are queued. With aligned
            cross-convention keys the key differs from the query by the
            convention alone, so this view brings back AimCLR's
            augmentation-invariance positive (issue 21). Costs one more
            key-encoder pass. Defaults to None.
        extra_key_weight (float): Weight ``w`` of that second term:
            ``loss_nce = (L_key + w * L_extra) / (1 + w)``. Defaults to 1
            (the mean).
        confusion_weight (float): Weight of a convention-confusion term
            (issue 21; Tzeng et al. 2015's domain confusion): a linear
            classifier learns to tell the convention from the pooled
            backbone features of the query and the key, standardised by
            the step's statistics (``loss_convention``, on detached
            features: it trains the classifier only), and the query
            encoder is pushed towards features on which that classifier
            is uniform (``loss_confusion = w * (CE(uniform, p) - ln S)``,
            zero when the classifier cannot tell; the classifier gets no
            gradient from it). Needs two or more conventions; 0 disables
            it (no classifier is built). Defaults to 0.
        data_preprocessor (dict | nn.Module, optional): Defaults to
            ``dict(type='MultiSkeletonDataPreprocessor')``.
        init_cfg (dict | list, optional): Initialisation config.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 queue_len: int = 32768,
                 feat_dim: int = 128,
                 momentum: float = 0.999,
                 temperature: float = 0.07,
                 loss_nce: dict = dict(type='MultiPosInfoNCELoss'),
                 shuffle_bn: bool = False,
                 query_view: str = 'query',
                 key_view: str = 'key',
                 cuda_graph: bool = False,
                 log_convention_cosines: bool = True,
                 symmetric: bool = False,
                 extra_key_view: Optional[str] = None,
                 extra_key_weight: float = 1.,
                 confusion_weight: float = 0.,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = dict(
                     type='MultiSkeletonDataPreprocessor'),
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        if isinstance(data_preprocessor, dict):
            # Built from mmaction's registry so that it resolves outside a
            # Runner (no default scope) as well.
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        if neck.get('per_convention_bn'):
            neck = dict(neck, conventions=self.backbone.names)
        self.neck = MODELS.build(neck)
        self.momentum_backbone = copy.deepcopy(self.backbone)
        self.momentum_neck = copy.deepcopy(self.neck)
        for param in self._momentum_params():
            param.requires_grad = False

        if not 0 <= momentum <= 1:
            raise ValueError(f'momentum must be in [0, 1], got {momentum}')
        self.queue_len = queue_len
        self.feat_dim = feat_dim
        self.momentum = momentum
        self.temperature = temperature
        self.shuffle_bn = shuffle_bn
        self.query_view = query_view
        self.key_view = key_view
        self.log_convention_cosines = log_convention_cosines
        self.symmetric = symmetric
        self.extra_key_view = extra_key_view
        self.extra_key_weight = extra_key_weight
        self.loss_nce = MODELS.build(loss_nce)
        self.confusion_weight = confusion_weight
        if confusion_weight:
            if len(self.backbone.names) < 2:
                raise ValueError('confusion_weight needs two or more conventions, '
                                 f'the backbone has {self.backbone.names}')
            self.convention_classifier = nn.Linear(self.neck.in_channels,
                                                   len(self.backbone.names))
        self._step_graphs = StepGraphs() if cuda_graph else None
        self.register_buffer('queue',
                             F.normalize(torch.randn(feat_dim, queue_len), dim=0))
        self.register_buffer('queue_ptr', torch.zeros(1, dtype=torch.long))

    # ------------------------------------------------------------ key side
    def _momentum_params(self):
        yield from self.momentum_backbone.parameters()
        yield from self.momentum_neck.parameters()

    def init_weights(self) -> None:
        """Initialise the query encoder, then copy it into the key
        encoder (parameters and buffers)."""
        super().init_weights()
        self.momentum_backbone.load_state_dict(self.backbone.state_dict())
        self.momentum_neck.load_state_dict(self.neck.state_dict())

    @torch.no_grad()
    def momentum_update(self) -> None:
        """``theta_k <- m * theta_k + (1 - m) * theta_q`` over parameters."""
        params_q = [
            p.detach() for p in list(self.backbone.parameters()) +
            list(self.neck.parameters())
        ]
        params_k = list(self._momentum_params())
        # one fused kernel per op over all tensors instead of a Python loop
        torch._foreach_mul_(params_k, self.momentum)
        torch._foreach_add_(params_k, params_q, alpha=1. - self.momentum)

    @torch.no_grad()
    def enqueue(self, keys: torch.Tensor,
                conventions: Optional[torch.Tensor] = None) -> None:
        """Gather the keys of all ranks and write them into the queue.

        Writing starts at ``queue_ptr`` and wraps around the end of the
        queue, so ``queue_len`` need not be a multiple of the (global)
        batch size (AimCLR asserts that it is). If a global batch is larger
        than the queue, the result is that of writing its keys one by one
        (only the last ``queue_len`` survive).

        Args:
            keys (torch.Tensor): ``(N, feat_dim)`` L2-normalised keys.
            conventions (torch.Tensor, optional): ``(N, )`` index of each
                key's convention, written into the ``queue_convention``
                buffer (a model that registers it) at the same columns.
        """
        keys = torch.cat(all_gather(keys.detach().contiguous()), dim=0)
        # the pointer stays on the device: reading it would wait for the step
        cols = (self.queue_ptr + torch.arange(
            keys.shape[0], device=self.queue.device)) % self.queue_len
        # As if written one by one: with more keys than columns, the last
        # queue_len keys survive.
        self.queue[:, cols[-self.queue_len:]] = keys[-self.queue_len:].T.to(
            self.queue.dtype)
        if conventions is not None:
            conventions = torch.cat(all_gather(conventions.contiguous()), dim=0)
            self.queue_convention[cols[-self.queue_len:]] = conventions[-self.queue_len:]
        self.queue_ptr.add_(keys.shape[0]).remainder_(self.queue_len)

    # ------------------------------------------------------------- encoding
    def _view_skeletons(self, data_samples: Optional[Sequence],
                        view: str) -> Optional[List[str]]:
        """Per-sample conventions of a view, from the data samples."""
        if not data_samples:
            return None
        skeletons = []
        for i, sample in enumerate(data_samples):
            per_view = sample.metainfo.get('skeletons')
            if per_view is None or view not in per_view:
                raise KeyError(f'data sample {i} ({sample.metainfo.get("clip_name")}) '
                               f"has no metainfo['skeletons'][{view!r}]; got "
                               f'{per_view!r}')
            skeletons.append(per_view[view])
        return skeletons

    def _encode_features(self, backbone: nn.Module, x: torch.Tensor,
                         skeletons, neck: Optional[nn.Module] = None) -> Encoded:
        """Backbone features and the ``(N, V)`` real-joint mask (or None);
        ``neck`` (if given) is told the batch's conventions for its
        per-convention BatchNorm."""
        N, V = x.shape[0], x.shape[3]
        idx = backbone.skeleton_index(skeletons, N)
        if neck is not None:
            set_norm_conventions(neck, idx)
        return backbone(x, idx), backbone.joint_mask(idx, N, V)

    def encode_query_pooled(self, x: torch.Tensor,
                            skeletons) -> Tuple[torch.Tensor, torch.Tensor]:
        """Pooled ``(N, C)`` features and L2-normalised ``(N, feat_dim)``
        embedding of the query encoder."""
        feats, mask = self._encode_features(self.backbone, x, skeletons, self.neck)
        pooled = self.neck.pool(feats, mask)
        return pooled, F.normalize(self.neck(pooled), dim=1)

    def encode_query(self, x: torch.Tensor, skeletons) -> torch.Tensor:
        """L2-normalised query embedding ``(N, feat_dim)``."""
        return self.encode_query_pooled(x, skeletons)[1]

    @torch.no_grad()
    def encode_key_pooled(self, x: torch.Tensor,
                          skeletons) -> Tuple[torch.Tensor, torch.Tensor]:
        """Pooled ``(N, C)`` features and L2-normalised ``(N, feat_dim)``
        embedding of the key encoder (no gradients), through shuffling BN
        when enabled and several ranks run."""
        shuffle = self.shuffle_bn and get_world_size() > 1
        if self.shuffle_bn and not shuffle:
            warnings.warn('MSMoCo: shuffle_bn has no effect in a single '
                          'process',
                          stacklevel=2)
        if shuffle:
            x, skeletons, unshuffle = self._batch_shuffle(x, skeletons)
        feats, mask = self._encode_features(self.momentum_backbone, x, skeletons,
                                            self.momentum_neck)
        pooled = self.momentum_neck.pool(feats, mask)
        keys = F.normalize(self.momentum_neck(pooled), dim=1)
        if shuffle:
            pooled, keys = (torch.cat(all_gather(t), dim=0)[unshuffle]
                            for t in (pooled, keys))
        return pooled, keys

    def encode_key(self, x: torch.Tensor, skeletons) -> torch.Tensor:
        """L2-normalised key embedding ``(N, feat_dim)`` (no gradients)."""
        return self.encode_key_pooled(x, skeletons)[1]

    def encode_pair(self, x_q: torch.Tensor, skeletons_q, x_k: torch.Tensor,
                    skeletons_k) -> Tuple[torch.Tensor, torch.Tensor]:
        """One MoCo step's embeddings: the query, then the momentum update
        and the key (no gradients).

        Args:
            x_q (torch.Tensor): ``(N, M, T, V, C)`` query batch.
            skeletons_q: Conventions of the query batch.
            x_k (torch.Tensor): ``(N, M, T, V', C)`` key batch.
            skeletons_k: Conventions of the key batch.

        Returns:
            tuple: L2-normalised ``(N, feat_dim)`` queries and keys.
        """
        q = self.encode_query(x_q, skeletons_q)
        self.momentum_update()
        return q, self.encode_key(x_k, skeletons_k)

    def _batch_shuffle(self, x: torch.Tensor, skeletons):
        """Shuffle the key batch across ranks (MoCo's shuffling BN).

        Batches of different ranks may have different conventions and joint
        counts, so they are zero-padded to the largest joint count and the
        convention of every sample travels with it (the backbone masks the
        padding). Needs equal per-rank batch sizes (``drop_last=True``).

        Returns:
            tuple: The local shuffled batch, its ``(N,)`` convention ids and
            the indices that restore this rank's order from the gathered
            keys.
        """
        N, V = x.shape[0], x.shape[3]
        idx = self._convention_ids(skeletons, N, x.device)
        v_max = torch.tensor([V], device=x.device)
        all_reduce(v_max, op='max')
        x = F.pad(x, (0, 0, 0, int(v_max) - V))
        x_all = torch.cat(all_gather(x.contiguous()), dim=0)
        idx_all = torch.cat(all_gather(idx), dim=0)
        perm = torch.randperm(x_all.shape[0], device=x.device)
        broadcast(perm, src=0)
        world, rank = get_world_size(), get_rank()
        local = perm.view(world, -1)[rank]
        unshuffle = torch.argsort(perm).view(world, -1)[rank]
        return x_all[local], idx_all[local], unshuffle

    # ---------------------------------------------------------------- views
    @staticmethod
    def _view(inputs: Dict[str, torch.Tensor], view: str) -> torch.Tensor:
        if not isinstance(inputs, dict) or view not in inputs:
            got = list(inputs) if isinstance(inputs, dict) else type(inputs)
            raise KeyError(f'pretraining inputs need the view {view!r}; got '
                           f'{got}')
        if not isinstance(inputs[view], torch.Tensor):
            raise TypeError(
                f'view {view!r} should be a stacked (N, M, T, V, C) tensor, '
                f'got {type(inputs[view]).__name__}: batch the views with '
                'MultiSkeletonDataPreprocessor')
        return inputs[view]

    def contrast(
            self,
            q: torch.Tensor,
            k: torch.Tensor,
            negatives: Optional[torch.Tensor] = None
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Logits ``[q.k, q.queue] / T`` and the raw negatives ``q.queue``.

        Args:
            q (torch.Tensor): ``(N, D)`` normalised queries.
            k (torch.Tensor): ``(N, D)`` normalised keys.
            negatives (torch.Tensor, optional): A snapshot of the queue to
                share between several queries; defaults to a fresh copy.
                A copy, because the queue is overwritten in place before
                backward runs.

        Returns:
            tuple: ``(N, 1 + K)`` logits and ``(N, K)`` cosine similarities.
        """
        if negatives is None:
            negatives = self.queue.clone().detach()
        l_pos = (q * k).sum(dim=1, keepdim=True)
        l_neg = q @ negatives
        return torch.cat([l_pos, l_neg], dim=1) / self.temperature, l_neg

    def convention_cosines(self, logits: torch.Tensor,
                           key_skeletons: Optional[Sequence[str]]
                           ) -> Dict[str, torch.Tensor]:
        """Mean cosine of the positive and of the queue negatives, by the
        convention of the key (logging; empty if disabled or unknown).

        Args:
            logits (torch.Tensor): ``(N, 1 + K)`` logits of :meth:`contrast`.
            key_skeletons (Sequence[str], optional): The key of each row.

        Returns:
            dict: ``cos_pos_<conv>`` and ``cos_neg_<conv>`` for every
            convention of the keys.
        """
        if not self.log_convention_cosines or not key_skeletons:
            return {}
        cos = logits.detach() * self.temperature
        pos, neg = cos[:, 0], cos[:, 1:].mean(dim=1)
        out = {}
        for name in sorted(set(key_skeletons)):
            if len(set(key_skeletons)) == 1:
                rows = slice(None)
            else:
                rows = index_tensor([i for i, s in enumerate(key_skeletons) if s == name],
                                    cos.device)
            out[f'cos_pos_{name}'] = pos[rows].mean()
            out[f'cos_neg_{name}'] = neg[rows].mean()
        return out

    def convention_confusion(self, pooled_q: torch.Tensor, skeletons_q,
                             pooled_k: torch.Tensor,
                             skeletons_k) -> Dict[str, torch.Tensor]:
        """The terms of ``confusion_weight`` (empty when it is 0).

        Args:
            pooled_q (torch.Tensor): ``(N, C)`` pooled query features (with
                gradients).
            skeletons_q: Conventions of the query batch.
            pooled_k (torch.Tensor): ``(N, C)`` pooled key features.
            skeletons_k: Conventions of the key batch.

        Returns:
            dict: ``loss_convention`` (the classifier's cross-entropy),
            ``loss_confusion`` (the encoder's term) and ``convention_top1``
            (the classifier's accuracy on query and key, logged only).
        """
        if not self.confusion_weight:
            return {}
        labels = torch.cat([
            self._convention_ids(skeletons, len(pooled), pooled.device)
            for skeletons, pooled in ((skeletons_q, pooled_q), (skeletons_k, pooled_k))
        ])
        # standardised by the step's statistics (as the evaluation's
        # convention probe standardises): low-variance directions count
        both = torch.cat([pooled_q, pooled_k]).detach()
        mean, std = both.mean(dim=0), both.std(dim=0).clamp_min(1e-6)
        z_q, z_k = (pooled_q - mean) / std, (pooled_k - mean) / std
        clf = self.convention_classifier
        # (2N, S): the classifier learns from both encoders' features
        logits = clf(torch.cat([z_q.detach(), z_k]))
        # the encoder's term through a frozen copy of the classifier
        log_p = F.log_softmax(F.linear(z_q, clf.weight.detach(), clf.bias.detach()), dim=1)
        confusion = -log_p.mean(dim=1).mean() - math.log(log_p.shape[1])
        return dict(loss_convention=F.cross_entropy(logits, labels),
                    loss_confusion=self.confusion_weight * confusion,
                    convention_top1=(logits.argmax(dim=1) == labels).float().mean().detach())

    def _convention_ids(self, skeletons, n: int, device) -> torch.Tensor:
        """``(n,)`` convention index of every sample of a batch (the query
        and key encoders share the conventions)."""
        idx = self.backbone.skeleton_index(skeletons, n)
        return index_tensor([idx] * n if isinstance(idx, int) else idx, device)

    def mirrored_contrast(self, inputs: Dict[str, torch.Tensor],
                          data_samples: Optional[Sequence],
                          negatives: torch.Tensor
                          ) -> Tuple[torch.Tensor, torch.Tensor]:
        """:meth:`contrast` of the mirrored pair of ``symmetric``: the key
        view as the query (query encoder), the query view as its key (key
        encoder, after this step's momentum update).

        Returns:
            tuple: ``(N, 1 + K)`` logits and ``(N, K)`` cosine similarities.
        """
        q = self.encode_query(self._view(inputs, self.key_view),
                              self._view_skeletons(data_samples, self.key_view))
        k = self.encode_key(self._view(inputs, self.query_view),
                            self._view_skeletons(data_samples, self.query_view))
        return self.contrast(q, k, negatives)

    def nce(self, logits: torch.Tensor, *negatives: torch.Tensor) -> torch.Tensor:
        """The NCE loss of ``(N, 1 + K)`` logits whose raw negatives are
        ``negatives`` (unused here; subclasses mine positives from them)."""
        return self.loss_nce(logits)

    def symmetrised(self, loss: torch.Tensor, inputs: Dict[str, torch.Tensor],
                    data_samples: Optional[Sequence],
                    negatives: torch.Tensor) -> torch.Tensor:
        """``loss`` itself, or with ``symmetric`` the mean of it and the
        mirrored pair's :meth:`nce`."""
        if not self.symmetric:
            return loss
        logits, l_neg = self.mirrored_contrast(inputs, data_samples, negatives)
        return (loss + self.nce(logits, l_neg)) / 2

    def with_extra_key(self, loss: torch.Tensor, q: torch.Tensor,
                       inputs: Dict[str, torch.Tensor],
                       data_samples: Optional[Sequence], negatives: torch.Tensor,
                       pos_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``loss`` itself, or with ``extra_key_view`` its weighted mean
        with the NCE loss of the queries ``q`` against that view's keys."""
        if self.extra_key_view is None:
            return loss
        k = self.encode_key(self._view(inputs, self.extra_key_view),
                            self._view_skeletons(data_samples, self.extra_key_view))
        logits, _ = self.contrast(q, k, negatives)
        w = self.extra_key_weight
        return (loss + w * self.loss_nce(logits, pos_mask)) / (1 + w)

    @staticmethod
    def _top1(logits: torch.Tensor) -> torch.Tensor:
        """Fraction of queries whose key beats every negative (logging)."""
        return (logits.argmax(dim=1) == 0).float().mean().detach()

    def loss(self,
             inputs: Dict[str, torch.Tensor],
             data_samples: Optional[Sequence] = None) -> Dict[str, torch.Tensor]:
        """InfoNCE of the query view against the key view.

        Args:
            inputs (dict): ``{query_view: (N, M, T, V, C), key_view: ...}``.
            data_samples (list): Samples with ``metainfo['skeletons']``.

        Returns:
            dict: ``loss_nce``; ``nce_top1`` and the cosines of
            :meth:`convention_cosines` (logged only).
        """
        query_skeletons = self._view_skeletons(data_samples, self.query_view)
        key_skeletons = self._view_skeletons(data_samples, self.key_view)
        pooled_q, q = self.encode_query_pooled(self._view(inputs, self.query_view),
                                               query_skeletons)
        self.momentum_update()
        pooled_k, k = self.encode_key_pooled(self._view(inputs, self.key_view),
                                             key_skeletons)
        negatives = self.queue.clone().detach()
        logits, _ = self.contrast(q, k, negatives)
        loss = self.symmetrised(self.loss_nce(logits), inputs, data_samples, negatives)
        loss = self.with_extra_key(loss, q, inputs, data_samples, negatives)
        losses = dict(loss_nce=loss, nce_top1=self._top1(logits),
                      **self.convention_cosines(logits, key_skeletons),
                      **self.convention_confusion(pooled_q, query_skeletons,
                                                  pooled_k, key_skeletons))
        self.enqueue(k)
        return losses

    # ------------------------------------------------------ training step
    def graph_state(self) -> tuple:
        """Host-side state that changes what a training step computes (part
        of a CUDA graph's signature); subclasses add theirs."""
        return ()

    def _graph_key(self, inputs, data_samples) -> Optional[tuple]:
        """The signature of a step for :class:`StepGraphs`, or None when
        the step runs eagerly (not on CUDA, a mixed batch, several
        processes)."""
        if not isinstance(inputs, dict) or get_world_size() > 1:
            return None
        views = []
        for view, x in sorted(inputs.items()):
            names = set(self._view_skeletons(data_samples, view) or [None])
            if not x.is_cuda or len(names) != 1:
                return None
            views.append((view, names.pop(), tuple(x.shape), x.dtype))
        return (tuple(views), torch.is_autocast_enabled('cuda'),
                torch.get_autocast_dtype('cuda'), self.graph_state())

    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        """mmengine's training step; with ``cuda_graph``, forward and
        backward replay from a CUDA graph where the batch allows it, then
        the optimizer steps eagerly.

        Args:
            data (dict): A batch from the dataloader.
            optim_wrapper (OptimWrapper): The optimizer wrapper.

        Returns:
            dict: The logged values (``loss`` and the loss terms).
        """
        if self._step_graphs is None:
            return super().train_step(data, optim_wrapper)
        if getattr(optim_wrapper, '_accumulative_counts', 1) != 1:
            raise ValueError('cuda_graph does not support gradient '
                             'accumulation (accumulative_counts > 1)')
        if isinstance(optim_wrapper, AmpOptimWrapper):
            raise ValueError('cuda_graph replays an unscaled backward: use '
                             "optim_wrapper=dict(type='AutocastOptimWrapper')"
                             ' (bfloat16, no loss scaling) instead of '
                             'AmpOptimWrapper')
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            inputs, samples = data['inputs'], data.get('data_samples')
            key = self._graph_key(inputs, samples)
            if key is None:
                losses = self._run_forward(data, mode='loss')
            else:
                params = [p for p in self.parameters() if p.requires_grad]
                log_vars = self._step_graphs(
                    key, params, inputs,
                    lambda x: self.parse_losses(self.loss(x, samples)))
        if key is None:
            loss, log_vars = self.parse_losses(losses)
            # the gradient buffers still hold the last replayed step's
            optim_wrapper.zero_grad()
            optim_wrapper.update_params(loss)
        else:
            optim_wrapper.step()
        return log_vars

    # -------------------------------------------------------- mmengine API
    def feature_input(
        self,
        inputs: Union[torch.Tensor, Dict[str, torch.Tensor]],
        data_samples: Optional[Sequence] = None,
        view: Optional[str] = None
    ) -> Tuple[torch.Tensor, Optional[List[str]]]:
        """The batch that :meth:`extract_feat` embeds and its conventions.

        Args:
            inputs (Tensor | dict): One ``(N, M, T, V, C)`` batch or a dict
                of views (the first view is used unless ``view`` is given).
            data_samples (list, optional): Samples whose
                ``metainfo['skeletons'][view]`` names the conventions; if
                absent, a dict view is taken to be named after its
                convention, and a bare tensor needs a single-convention
                backbone.
            view (str, optional): Which view of a dict to embed.

        Returns:
            tuple: The ``(N, M, T, V, C)`` batch and its per-sample
            conventions (None for a bare tensor without them).
        """
        if not isinstance(inputs, dict):
            if data_samples and 'skeletons' in data_samples[0].metainfo:
                first = next(iter(data_samples[0].metainfo['skeletons']))
                return inputs, self._view_skeletons(data_samples, first)
            return inputs, None
        view = view or next(iter(inputs))
        x = self._view(inputs, view)
        has_meta = data_samples and all(
            view in (s.metainfo.get('skeletons') or {}) for s in data_samples)
        return x, (self._view_skeletons(data_samples, view)
                   if has_meta else [view] * x.shape[0])

    def pooled_features(self, x: torch.Tensor, skeletons) -> torch.Tensor:
        """Pooled ``(N, C)`` query-encoder features (before the projector).

        Args:
            x (torch.Tensor): ``(N, M, T, V, C)`` batch.
            skeletons: Its conventions (see :meth:`feature_input`).

        Returns:
            torch.Tensor: ``(N, C)`` features.
        """
        feats, mask = self._encode_features(self.backbone, x, skeletons)
        return self.neck.pool(feats, mask)

    def extract_feat(self,
                     inputs: Union[torch.Tensor, Dict[str, torch.Tensor]],
                     data_samples: Optional[Sequence] = None,
                     view: Optional[str] = None) -> torch.Tensor:
        """Pooled ``(N, C)`` query-encoder features (before the projector),
        for kNN or linear probing.

        Args:
            inputs (Tensor | dict): See :meth:`feature_input`.
            data_samples (list, optional): See :meth:`feature_input`.
            view (str, optional): Which view of a dict to embed.

        Returns:
            torch.Tensor: ``(N, C)`` features.
        """
        return self.pooled_features(
            *self.feature_input(inputs, data_samples, view))

    def forward(self,
                inputs: Union[torch.Tensor, Dict[str, torch.Tensor]],
                data_samples: Optional[Sequence] = None,
                mode: str = 'tensor'):
        """``mode='loss'``: :meth:`loss`; ``'tensor'``: :meth:`extract_feat`
        (pooled query-encoder features of the first/only view)."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs, data_samples)
        if mode == 'predict':
            raise NotImplementedError(
                f'{type(self).__name__} is a self-supervised pretraining '
                "model without a classifier: use mode='tensor' for features, "
                'or a linear-evaluation recognizer for predictions')
        raise ValueError(f'Invalid mode {mode!r}; expected loss, tensor or '
                         'predict')
