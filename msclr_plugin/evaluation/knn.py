"""Weighted k-nearest-neighbour classification of frozen features.

Neither AimCLR nor MS-CLR ships a kNN evaluation, so the choice here is the
common one of InstDisc (Wu et al. 2018) and its successors: cosine similarity
of L2-normalised features, the ``k`` most similar training samples vote for
their class with weight ``exp(similarity / temperature)`` (k=20, T=0.07 by
default, the temperature of the contrastive loss), and the class with the
largest vote wins.
"""
from typing import Dict, Iterable, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.registry import init_default_scope

from mmaction.registry import MODELS
from msclr_plugin.models.recognizers.ms_recognizer_gcn import (
    embed, load_pretrained_backbone, plain_conventions, view_conventions)
from msclr_plugin.utils.progress import ProgressLine


@torch.no_grad()
def knn_classify(train_feats: torch.Tensor,
                 train_labels: torch.Tensor,
                 test_feats: torch.Tensor,
                 k: int = 20,
                 temperature: float = 0.07,
                 num_classes: Optional[int] = None,
                 test_labels: Optional[torch.Tensor] = None,
                 chunk_size: int = 1024) -> Tuple[torch.Tensor, Optional[float]]:
    """Classify test features by a weighted vote of their k neighbours.

    Args:
        train_feats (torch.Tensor): ``(N_train, C)`` features.
        train_labels (torch.Tensor): ``(N_train,)`` integer labels.
        test_feats (torch.Tensor): ``(N_test, C)`` features.
        k (int): Neighbours (capped at ``N_train``). Defaults to 20.
        temperature (float): Vote weight ``exp(sim / temperature)``.
        num_classes (int, optional): Defaults to ``max(train_labels) + 1``.
        test_labels (torch.Tensor, optional): For the top-1 accuracy.
        chunk_size (int): Test rows per similarity block (memory bound).

    Returns:
        tuple: ``(predictions (N_test,), top1 in [0, 1] or None)``.
    """
    train_labels = torch.as_tensor(train_labels, dtype=torch.long)
    if train_feats.shape[0] != train_labels.shape[0]:
        raise ValueError(f'{train_feats.shape[0]} training features but '
                         f'{train_labels.shape[0]} labels')
    if train_feats.shape[0] == 0:
        raise ValueError('kNN needs at least one training feature')
    num_classes = num_classes or int(train_labels.max()) + 1
    k = min(k, train_feats.shape[0])
    bank = F.normalize(train_feats.float(), dim=1)
    train_labels = train_labels.to(bank.device)
    preds = []
    for start in range(0, test_feats.shape[0], chunk_size):
        query = F.normalize(
            test_feats[start:start + chunk_size].float().to(bank.device), dim=1)
        sim, idx = (query @ bank.T).topk(k, dim=1)
        votes = torch.zeros(query.shape[0], num_classes, device=bank.device)
        votes.scatter_add_(1, train_labels[idx], (sim / temperature).exp())
        preds.append(votes.argmax(1))
    preds = torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long)
    top1 = None
    if test_labels is not None:
        test_labels = torch.as_tensor(test_labels, device=preds.device)
        top1 = float((preds == test_labels).float().mean())
    return preds, top1


@torch.no_grad()
def retrieval_ranks(query_feats: torch.Tensor,
                    gallery_feats: torch.Tensor,
                    chunk_size: int = 1024,
                    groups: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Rank of each query's own item in a gallery of the same items.

    Row ``i`` of both is the same clip (e.g. its test clip in convention A
    and in convention B). By cosine similarity, the rank of gallery item
    ``i`` among all gallery items for query ``i``: 1 when the clip's other
    rendering is its nearest neighbour. Ties count against the query (a
    constant encoder ranks every item last), so the rank is the number of
    gallery items at least as similar as the right one.

    Args:
        query_feats (torch.Tensor): ``(N, C)`` features.
        gallery_feats (torch.Tensor): ``(N, C)`` features, same items.
        chunk_size (int): Query rows per similarity block.
        groups (torch.Tensor, optional): ``(N,)`` group ids: the other
            items of a query's group (e.g. repeated takes of the same
            performance) are left out of its gallery, so only clips of
            other groups compete with its own item.

    Returns:
        torch.Tensor: ``(N,)`` ranks in ``[1, N]`` (``[1, N - group size +
        1]`` with ``groups``).
    """
    if query_feats.shape[0] != gallery_feats.shape[0]:
        raise ValueError(f'{query_feats.shape[0]} queries but '
                         f'{gallery_feats.shape[0]} gallery items: retrieval '
                         'needs the same items in both')
    if groups is not None and groups.shape != (query_feats.shape[0],):
        raise ValueError(f'groups of shape {tuple(groups.shape)} for '
                         f'{query_feats.shape[0]} items')
    gallery = F.normalize(gallery_feats.float(), dim=1)
    ranks = []
    for start in range(0, query_feats.shape[0], chunk_size):
        query = F.normalize(
            query_feats[start:start + chunk_size].float().to(gallery.device), dim=1)
        sim = query @ gallery.T
        rows = torch.arange(query.shape[0], device=sim.device)
        right = sim[rows, rows + start]
        beats = sim >= right[:, None]
        if groups is not None:
            group = groups.to(sim.device)
            # the right item itself stays; its group's others leave the gallery
            beats &= group[start:start + query.shape[0], None] != group[None]
            beats[rows, rows + start] = True
        ranks.append(beats.sum(1))
    return torch.cat(ranks).cpu() if ranks else torch.zeros(0, dtype=torch.long)


def retrieval_report(query_feats: torch.Tensor, gallery_feats: torch.Tensor,
                     topk: Sequence[int] = (1, 5),
                     groups: Optional[torch.Tensor] = None) -> Dict[str, float]:
    """Cross-convention retrieval of :func:`retrieval_ranks` summarised.

    Returns:
        dict: ``top{k}`` (fraction of queries whose own item ranks within
        ``k``), ``median_rank``, ``mean_rank`` and ``num_items`` (chance
        top-1 is ``1 / num_items``, chance median rank about half of it);
        with ``groups``, ``mean_gallery``: the items a query ranks among on
        average, what chance is then taken of.
    """
    ranks = retrieval_ranks(query_feats, gallery_feats, groups=groups).float()
    report = {f'top{k}': float((ranks <= k).float().mean()) for k in topk}
    ranks = ranks.numpy()
    report.update(median_rank=float(np.median(ranks)) if len(ranks) else float('nan'),
                  mean_rank=float(ranks.mean()) if len(ranks) else float('nan'),
                  num_items=int(len(ranks)))
    if groups is not None:
        sizes = (groups[:, None] == groups[None]).sum(1)
        report['mean_gallery'] = float((len(groups) - sizes + 1).float().mean())
    return report


POOLS = ('all', 'time', 'none')


def _embed(backbone: torch.nn.Module, x: torch.Tensor, skeletons,
           pool: str = 'all') -> torch.Tensor:
    """:func:`embed` (``pool='all'``), or the backbone's map with the persons
    averaged and time too (``'time'``: ``(N, C, V, 1)``) or not (``'none'``:
    ``(N, C, T, V, 1)``); joints on the second last axis, as in the inputs."""
    if pool == 'all':
        return embed(backbone, x, skeletons)
    feat = backbone(x, skeletons).mean(1)
    return (feat.mean(2) if pool == 'time' else feat).unsqueeze(-1)


@torch.no_grad()
def extract_features(model: torch.nn.Module,
                     dataloader: Iterable,
                     view: Optional[str] = None,
                     progress: Optional[str] = None,
                     pool: str = 'all') -> Tuple[torch.Tensor, torch.Tensor]:
    """Pooled backbone features and labels of every item of a dataloader.

    Works for any model with an :class:`MSSTGCN` ``backbone`` and a
    ``data_preprocessor`` (pretraining and evaluation recognizers alike):
    every view is embedded with its conventions and pooled over time, real
    joints and persons; an item's feature is the mean over its views, or the
    view named ``view``. The model is put in eval mode and restored.

    Args:
        model (nn.Module): The model (wrappers are unwrapped).
        dataloader (Iterable): Yields mmaction batches (``inputs`` and
            ``data_samples`` with ``gt_label``).
        view (str, optional): Use only this view.
        progress (str, optional): Print progress lines with an ETA under
            this label (:class:`ProgressLine`).
        pool (str): ``'all'`` (the pooled feature), or the map before
            pooling over joints (``'time'``) or over anything but persons
            (``'none'``), see :func:`_embed` (for locating what pooling loses).

    Returns:
        tuple: ``(features (N, C) on CPU, labels (N,))``; with ``pool`` other
        than ``'all'`` the features are the maps of :func:`_embed`.
    """
    if pool not in POOLS:
        raise ValueError(f'pool must be one of {POOLS}, got {pool!r}')
    if is_model_wrapper(model):
        model = model.module
    if not hasattr(model, 'backbone'):
        raise AttributeError(f'{type(model).__name__} has no backbone to '
                             'extract features with')
    was_training = model.training
    model.eval()
    feats, labels = [], []
    dataset = getattr(dataloader, 'dataset', None)
    bar = None if progress is None or dataset is None else ProgressLine(
        progress, len(dataset), 'clips')
    try:
        for batch in dataloader:
            data = model.data_preprocessor(batch, False)
            inputs, samples = data['inputs'], data['data_samples']
            if isinstance(inputs, torch.Tensor):
                inputs = {None: inputs}
            if view is not None:
                if view not in inputs:
                    raise KeyError(f'view {view!r} not in the batch views '
                                   f'{list(inputs)}')
                inputs = {view: inputs[view]}
            default = getattr(model, 'default_skeleton', None)
            per_view = []
            for name, x in inputs.items():
                if name is not None:
                    skel = view_conventions(samples, name, x.shape[0], default)
                    per_view.append(_embed(model.backbone, x, skel, pool))
                    continue
                # plain mmaction tensor: (N, [num_clips,] M, T, V, C)
                clips = x.shape[1] if x.dim() == 6 else 1
                skel = plain_conventions(samples, default)
                if clips > 1:
                    x = x.flatten(0, 1)
                    if not isinstance(skel, str):
                        skel = [s for s in skel for _ in range(clips)]
                per_view.append(_embed(model.backbone, x, skel, pool).unflatten(
                    0, (-1, clips)).mean(1))
            feats.append(torch.stack(per_view).mean(0).cpu())
            labels.extend(int(s.gt_label.reshape(-1)[0]) for s in samples)
            if bar is not None:
                bar.update(len(samples))
    finally:
        model.train(was_training)
    if not feats:
        raise ValueError('the dataloader yielded no batch')
    return torch.cat(feats), torch.tensor(labels, dtype=torch.long)


def load_model(cfg: Config, checkpoint: str,
               device: str = 'cpu') -> torch.nn.Module:
    """Build a config's model and load a checkpoint's encoder into its
    backbone (strictly, the rest left out by name: kNN needs the encoder
    only), logging one line of what was loaded.

    The config's default scope becomes current (the dataloaders built from
    the same config afterwards need it too). The encoder's prefix in the
    checkpoint is the backbone's ``init_cfg`` Pretrained ``prefix`` when the
    config has one (an evaluation config), else ``'backbone.'``.

    Args:
        cfg (Config): Config with ``model`` (and ``default_scope``).
        checkpoint (str): Checkpoint path.
        device (str): Where the model goes. Defaults to ``'cpu'``.

    Returns:
        nn.Module: The model.
    """
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    model = MODELS.build(cfg.model)
    init = cfg.model.get('backbone', {}).get('init_cfg')
    prefix = init.get('prefix') if isinstance(init, dict) and init.get(
        'type') == 'Pretrained' else None
    load_pretrained_backbone(model, checkpoint, prefix=prefix or 'backbone.')
    return model.to(device)


def sequential_loader_cfg(loader_cfg: dict) -> dict:
    """A copy of a dataloader config that yields every item exactly once, in
    dataset order: no shuffling, grouping or dropping.

    Args:
        loader_cfg (dict): A config's dataloader entry.

    Returns:
        dict: The changed copy.
    """
    loader_cfg = dict(loader_cfg)
    loader_cfg['sampler'] = dict(type='DefaultSampler', shuffle=False)
    loader_cfg.pop('batch_sampler', None)
    loader_cfg['drop_last'] = False
    return loader_cfg
