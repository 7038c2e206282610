"""AimCLR pretraining over one or several skeleton conventions."""
from typing import Dict, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub

from mmaction.registry import MODELS
from .ms_moco import MSMoCo

MINING_SCOPES = ('all', 'other_convention')


@MODELS.register_module()
class MSAimCLR(MSMoCo):
    """AimCLR (extreme augmentations, EADM, D3M, nearest-neighbour mining)
    with a multi-skeleton encoder: MS-CLR's MS-AimCLR.

    On top of :class:`MSMoCo`, the view ``query_extreme`` (same convention
    as ``query``) goes through the query encoder twice: pooled as is
    (``q_e``) and after EADM on the last feature map (``q_ed``). With
    ``l = [q.k, q.queue] / T`` for each query,

    - D3M: ``L_e = H(softmax(l_q).detach(), softmax(l_e))``, likewise
      ``L_ed``; ``loss_d3m = (L_e + L_ed) / 2``.
    - Epochs ``<= mining_epoch`` (AimCLR's 1-based count): ``loss_nce =
      CE(l_q, 0)``.
    - Later (nearest-neighbour mining): the positives of the normal query
      are the key plus the union of the top-``topk`` queue entries of
      ``q``, ``q_e`` and ``q_ed`` (raw cosine similarity), and ``loss_nce``
      is the multi-positive InfoNCE on ``l_q``; D3M is unchanged.
    - With ``mining_scope='other_convention'`` a query mines only queue
      entries whose key was in another convention than the query (the
      queue keeps each entry's convention in ``queue_convention``): mined
      positives then teach what the key already teaches, that a motion
      looks alike in every convention, where mining every entry mostly
      takes neighbours of the query's own convention (issue 21: a clip's
      nearest neighbour shared its convention 97.7 % of the time). On the
      main job's data it recovers a third of what dropping mining gains
      (docs/results.md).
    - With ``symmetric``, ``loss_nce`` is the mean of that and the same loss
      of the mirrored pair (key view as the query; mining from its own
      queue similarities); D3M stays on the query view.

    The epoch is the runtime info ``'epoch'`` of mmengine's
    :class:`MessageHub`, which ``RuntimeInfoHook`` sets to the 0-based
    epoch before each training epoch; mining starts when ``epoch + 1 >
    mining_epoch`` (AimCLR's epochs are 1-based), i.e. from the 0-based
    epoch ``mining_epoch``. Without that info (no epoch-based loop) the
    epoch counts as 0. With one convention this is AimCLR.

    Args:
        eadm (dict): Config of the drop module. Defaults to
            ``dict(type='EnergyAttentionDrop', keep_prob=0.7)``.
        loss_d3m (dict): Config of the D3M loss.
            Defaults to ``dict(type='D3MLoss')``.
        mining_epoch (int): Last epoch (1-based) without mining.
            Defaults to 150.
        topk (int): Queue neighbours mined per query type. Defaults to 1.
        mining_scope (str): The queue entries a query mines: ``'all'``
            (AimCLR) or ``'other_convention'``. Defaults to ``'all'``.
        extreme_view (str): Name of the extreme view.
            Defaults to ``'query_extreme'``.
        **kwargs: :class:`MSMoCo` arguments.
    """

    def __init__(self,
                 *args,
                 eadm: dict = dict(type='EnergyAttentionDrop', keep_prob=0.7),
                 loss_d3m: dict = dict(type='D3MLoss'),
                 mining_epoch: int = 150,
                 topk: int = 1,
                 mining_scope: str = 'all',
                 extreme_view: str = 'query_extreme',
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.eadm = MODELS.build(eadm)
        self.loss_d3m = MODELS.build(loss_d3m)
        self.mining_epoch = mining_epoch
        self.topk = topk
        self.extreme_view = extreme_view
        if mining_scope not in MINING_SCOPES:
            raise ValueError(f'mining_scope must be one of {MINING_SCOPES}, got '
                             f'{mining_scope!r}')
        self.mining_scope = mining_scope
        if mining_scope == 'other_convention':
            if len(self.backbone.names) < 2 or self.symmetric or self._step_graphs:
                raise ValueError("mining_scope='other_convention' needs two or more "
                                 f'conventions (the backbone has {self.backbone.names}), '
                                 'symmetric=False and cuda_graph=False')
            # -1: a column no key has been written to yet (never mined)
            self.register_buffer('queue_convention',
                                 torch.full((self.queue_len, ), -1, dtype=torch.long))

    def mining(self) -> bool:
        """Whether the current epoch uses nearest-neighbour mining."""
        epoch = MessageHub.get_current_instance().get_info('epoch', 0)
        return epoch + 1 > self.mining_epoch

    def graph_state(self) -> tuple:
        """The mining phase (it changes the loss)."""
        return (self.mining(), )

    def positive_mask(self, *negatives: torch.Tensor,
                      query_conventions: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``(N, 1 + K)`` positives: the key and the union of every query
        type's top-``topk`` queue neighbours; with ``query_conventions``
        (``(N, )`` convention indices) among the entries of the
        ``queue_convention`` of another convention only (fewer positives
        when fewer such entries exist)."""
        first = negatives[0]
        mask = torch.zeros(
            first.shape[0], 1 + first.shape[1], dtype=torch.bool, device=first.device)
        mask[:, 0] = True
        allowed = None
        if query_conventions is not None:
            queue_conv = self.queue_convention[None]
            allowed = (queue_conv >= 0) & (queue_conv != query_conventions[:, None])
        for l_neg in negatives:
            if allowed is None:
                top = l_neg.topk(self.topk, dim=1).indices
                mask.scatter_(1, top + 1, True)
                continue
            top = l_neg.masked_fill(~allowed, float('-inf')).topk(self.topk, dim=1).indices
            mined = torch.zeros_like(mask)
            mined.scatter_(1, top + 1, allowed.gather(1, top))
            mask |= mined
        return mask

    def _convention_indices(self, skeletons: Optional[Sequence[str]],
                            device: torch.device) -> Optional[torch.Tensor]:
        """``(N, )`` indices in the backbone's conventions of per-sample
        convention names, when ``mining_scope`` needs them."""
        if self.mining_scope == 'all':
            return None
        if not skeletons:
            raise ValueError("mining_scope='other_convention' needs each sample's "
                             "conventions (metainfo['skeletons'])")
        names = list(self.backbone.names)
        return torch.tensor([names.index(s) for s in skeletons], device=device)

    def nce(self, logits: torch.Tensor, *negatives: torch.Tensor) -> torch.Tensor:
        """Plain InfoNCE, or while mining the multi-positive InfoNCE with
        the positives of :meth:`positive_mask` of ``negatives``."""
        mask = self.positive_mask(*negatives) if self.mining() else None
        return self.loss_nce(logits, mask)

    def loss(self,
             inputs: Dict[str, torch.Tensor],
             data_samples: Optional[Sequence] = None) -> Dict[str, torch.Tensor]:
        """AimCLR's loss on the query, extreme query and key views.

        Args:
            inputs (dict): ``{'query', 'query_extreme', 'key'}`` views, each
                ``(N, M, T, V, C)``.
            data_samples (list): Samples with ``metainfo['skeletons']``.

        Returns:
            dict: ``loss_nce``, ``loss_d3m`` (summed into the total);
            ``d3m_extreme``, ``d3m_extreme_drop``, ``nce_top1``, the
            cosines of :meth:`convention_cosines` and, while mining,
            ``num_positives`` (logged only); the terms of
            :meth:`convention_confusion` with ``confusion_weight``.
        """
        query_skeletons = self._view_skeletons(data_samples, self.query_view)
        pooled_q, q = self.encode_query_pooled(self._view(inputs, self.query_view),
                                               query_skeletons)
        feats_e, mask_e = self._encode_features(
            self.backbone, self._view(inputs, self.extreme_view),
            self._view_skeletons(data_samples, self.extreme_view), self.neck)
        q_e = F.normalize(self.neck(feats_e, mask_e), dim=1)
        q_ed = F.normalize(self.neck(self.eadm(feats_e, mask_e), mask_e), dim=1)
        key_skeletons = self._view_skeletons(data_samples, self.key_view)
        with torch.no_grad():
            self.momentum_update()
            pooled_k, k = self.encode_key_pooled(self._view(inputs, self.key_view),
                                                 key_skeletons)

        negatives = self.queue.clone().detach()
        logits, l_neg = self.contrast(q, k, negatives)
        logits_e, l_neg_e = self.contrast(q_e, k, negatives)
        logits_ed, l_neg_ed = self.contrast(q_ed, k, negatives)

        losses = dict(nce_top1=self._top1(logits),
                      **self.convention_cosines(logits, key_skeletons),
                      **self.convention_confusion(pooled_q, query_skeletons,
                                                  pooled_k, key_skeletons))
        query_conv = self._convention_indices(query_skeletons, q.device)
        # the mask once: for the loss and for the log
        pos_mask = (self.positive_mask(l_neg, l_neg_e, l_neg_ed,
                                       query_conventions=query_conv)
                    if self.mining() else None)
        losses['loss_nce'] = self.with_extra_key(
            self.symmetrised(self.loss_nce(logits, pos_mask), inputs, data_samples,
                             negatives),
            q, inputs, data_samples, negatives, pos_mask)
        if pos_mask is not None:
            losses['num_positives'] = pos_mask.sum(dim=1).float().mean()
        loss_e = self.loss_d3m(logits_e, logits)
        loss_ed = self.loss_d3m(logits_ed, logits)
        losses['loss_d3m'] = (loss_e + loss_ed) / 2
        losses['d3m_extreme'] = loss_e.detach()
        losses['d3m_extreme_drop'] = loss_ed.detach()
        self.enqueue(k, self._convention_indices(key_skeletons, k.device))
        return losses
