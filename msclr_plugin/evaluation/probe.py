"""Frozen-encoder evaluations from ONE feature extraction.

A linear probe, kNN, the skeleton-specific ensemble, cross-convention
transfer and retrieval all look at the same frozen features. Evaluation
pipelines carry no augmentation, so the pooled feature of a (clip,
convention) is the same every epoch: extracting it once
(:func:`extract_convention_features`) and training the probe's head on the
cached features (:func:`train_probe_head`) gives the probe of
``tools/train.py <linear config>`` at the cost of one forward pass per item
instead of one per item and epoch. ``tools/probe_eval.py`` runs it all.
"""
from typing import Dict, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS
from mmengine.runner import Runner

from .accuracy import accuracy_report
from .knn import extract_features, sequential_loader_cfg

Features = Dict[str, Tuple[torch.Tensor, torch.Tensor]]


def extract_convention_features(model: nn.Module, loader_cfg: dict,
                                conventions: Sequence[str],
                                progress: str = '', pool: str = 'all') -> Features:
    """Pooled features of every clip of a dataloader's dataset, once per
    convention, in dataset order (row ``i`` is the same clip in every
    convention).

    Args:
        model (nn.Module): A model with a ``backbone`` (see
            :func:`extract_features`).
        loader_cfg (dict): A dataloader config of a
            :class:`MultiSkeletonDataset` with an un-augmented pipeline; its
            ``mode`` is replaced by each convention in turn.
        conventions (Sequence[str]): Conventions to embed.
        progress (str): If given, progress lines with an ETA are printed,
            labelled ``'<progress> <conv>'``.
        pool (str): See :func:`extract_features` (default: pooled features).

    Returns:
        dict: ``{convention: (features (N, C), labels (N,))}``.
    """
    out = {}
    for conv in conventions:
        cfg = sequential_loader_cfg(loader_cfg)
        cfg['dataset'] = dict(cfg['dataset'], mode=conv)
        out[conv] = extract_features(
            model, Runner.build_dataloader(cfg),
            progress=f'{progress} {conv}' if progress else None, pool=pool)
    return out


def train_probe_head(head: nn.Module,
                     train: Features,
                     epochs: int,
                     batch_size: int,
                     optim_wrapper: dict,
                     param_scheduler: Sequence[dict] = (),
                     seed: int = 0) -> nn.Module:
    """Train a classification head on cached features, as the linear probe's
    runner would train it on the frozen encoder's outputs.

    Items are the rows of every convention (the linear configs' ``'single'``
    mode: each clip once per convention), reshuffled every epoch, in batches
    of ``batch_size`` (the last one smaller, skipped when a single row);
    each row is classified by its convention's classifier
    (``head(x, conventions)``) and the loss is the head's ``loss_cls``. The optimizer and the epoch-based schedulers come
    from the config entries.

    Args:
        head (nn.Module): E.g. :class:`MSLinearHead`; trained in place.
        train (dict): ``{convention: (features, labels)}``.
        epochs (int): Epochs.
        batch_size (int): Rows per step.
        optim_wrapper (dict): The config's ``optim_wrapper``.
        param_scheduler (Sequence[dict]): The config's epoch-based
            ``param_scheduler`` entries.
        seed (int): Seed of the shuffling.

    Returns:
        nn.Module: The head, in eval mode.
    """
    feats = torch.cat([f for f, _ in train.values()])
    labels = torch.cat([y for _, y in train.values()])
    convs = [c for c, (_, y) in train.items() for _ in range(len(y))]
    wrapper = build_optim_wrapper(head, optim_wrapper)
    schedulers = [
        PARAM_SCHEDULERS.build(dict(cfg, optimizer=wrapper))
        for cfg in (param_scheduler or [])
    ]
    for cfg, scheduler in zip(param_scheduler or [], schedulers):
        if not scheduler.by_epoch:
            raise ValueError(f'train_probe_head steps schedulers per epoch; '
                             f'{cfg} is iteration-based')
    generator = torch.Generator().manual_seed(seed)
    head.train()
    for _ in range(epochs):
        order = torch.randperm(len(labels), generator=generator)
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            if len(rows) == 1:  # a BatchNorm in the head cannot train on one row
                continue
            logits = head(feats[rows], [convs[i] for i in rows.tolist()])
            wrapper.update_params(head.loss_cls(logits, labels[rows]))
        for scheduler in schedulers:
            scheduler.step()
    return head.eval()


@torch.no_grad()
def probe_scores(head: nn.Module, test: Features,
                 reference: str) -> Dict[str, torch.Tensor]:
    """Scores of a trained per-convention head on cached test features.

    Args:
        head (nn.Module): :class:`MSLinearHead` (eval mode).
        test (dict): ``{convention: (features, labels)}``, same clips in the
            same order for every convention.
        reference (str): The convention whose classifier is the probe.

    Returns:
        dict: ``(N, num_classes)`` scores whose softmax is the prediction:
        ``'linear'`` (the reference clips, its own classifier), and with
        several conventions ``'ensemble'`` (every convention of a clip, its
        own classifier, fused by the head's ``view_fusion``) and
        ``'transfer_to_<conv>'`` (the reference classifier on the clips of
        ``conv``).
    """
    scores = dict(linear=head(test[reference][0], reference))
    if len(test) > 1:
        scores['ensemble'] = head.fuse_views([f for f, _ in test.values()], list(test))
        for conv, (feats, _) in test.items():
            if conv != reference:
                scores[f'transfer_to_{conv}'] = head(feats, reference)
    return scores


def probe_reports(head: nn.Module, test: Features, reference: str,
                  topk: Sequence[int] = (1, 5)) -> Dict[str, dict]:
    """:func:`accuracy_report` of every entry of :func:`probe_scores`."""
    labels = test[reference][1].numpy()
    return {name: accuracy_report(scores.numpy(), labels, topk)
            for name, scores in probe_scores(head, test, reference).items()}


def check_aligned(features: Features, where: str) -> None:
    """Every convention must list the same clips (labels as a proxy)."""
    first = None
    for conv, (_, labels) in features.items():
        if first is None:
            first = (conv, labels)
        elif not torch.equal(labels, first[1]):
            raise ValueError(f'{where}: conventions {first[0]} and {conv} do '
                             'not list the same clips in the same order')
