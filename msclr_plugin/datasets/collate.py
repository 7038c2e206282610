"""A collate function that hands a batch to the main process in a few
tensors."""
from typing import List, Sequence

import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS


@FUNCTIONS.register_module()
def multi_skeleton_collate(data_batch: Sequence[dict]) -> dict:
    """``pseudo_collate``, then, still in the dataloader worker, every view
    whose samples agree in shape is stacked into one ``(N, M, T, V, C)``
    tensor, and the samples' ``gt_label`` tensors into one ``gt_labels``
    tensor, which :class:`MultiSkeletonDataPreprocessor` gives back to the
    samples.

    A worker passes every tensor to the main process through its own
    shared-memory file: with ``pseudo_collate`` a batch of 128 is 512
    tensors (three views and a label per sample), which cost the main
    process about 130 ms per batch on a 2-core CPU (docs/benchmarks.md),
    the GPU waiting meanwhile. Grouped batches
    (``ConventionGroupedBatchSampler``) are stacked whole; a view of mixed
    joint counts stays a list (the preprocessor pads it).

    Use: ``train_dataloader = dict(collate_fn=dict(
    type='multi_skeleton_collate'), ...)`` (registered in mmengine's
    ``FUNCTIONS``, beside ``pseudo_collate``: the Runner looks collate
    functions up there).

    Args:
        data_batch (Sequence[dict]): Samples of
            :class:`PackMultiSkeletonInputs` (``inputs``: ``{view: Tensor}``
            or a Tensor; ``data_samples``).

    Returns:
        dict: ``inputs`` (``{view: Tensor or list}``), ``data_samples``
        (without ``gt_label`` when moved) and, when moved, ``gt_labels``.
    """
    data = pseudo_collate(data_batch)
    inputs = data.get('inputs')
    if isinstance(inputs, dict):
        data['inputs'] = {
            view: torch.stack(x) if _same_shape(x) else x
            for view, x in inputs.items()
        }
    elif isinstance(inputs, list) and _same_shape(inputs):
        data['inputs'] = torch.stack(inputs)
    samples = data.get('data_samples')
    labels = [getattr(s, 'gt_label', None) for s in samples or []]
    if labels and _same_shape(labels):
        data['gt_labels'] = torch.stack(labels)
        for sample in samples:
            del sample.gt_label
    return data


def batch_labels(batch: dict) -> List[int]:
    """The class labels of a batch of either collate function."""
    if 'gt_labels' in batch:
        return batch['gt_labels'].reshape(len(batch['gt_labels']), -1)[:, 0].tolist()
    return [int(s.gt_label.reshape(-1)[0]) for s in batch['data_samples']]


def _same_shape(tensors) -> bool:
    return all(isinstance(t, torch.Tensor) for t in tensors) and len(
        {(t.shape, t.dtype) for t in tensors}) == 1
