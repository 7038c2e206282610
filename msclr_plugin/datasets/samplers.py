"""Batches of one (query, key) convention pair: no padding in a batch."""
from typing import Iterator, List

import numpy as np
from mmaction.registry import DATA_SAMPLERS
from torch.utils.data import BatchSampler, Sampler


@DATA_SAMPLERS.register_module()
class ConventionGroupedBatchSampler(BatchSampler):
    """Group the indices of a sampler by their (query, key) convention pair.

    In the style of mmdet's ``AspectRatioBatchSampler``: indices from
    ``sampler`` (e.g. mmengine's ``DefaultSampler``, which shuffles with
    ``seed + epoch`` and shards by rank) go into one bucket per convention
    pair, and a bucket is yielded as soon as it holds ``batch_size`` indices.
    Leftover buckets are yielded at the end of the epoch unless
    ``drop_last``.

    The pair of an item depends on the epoch (the key convention is drawn
    from ``hash(seed, epoch, index)``), so the sampler yields epoch-encoded
    indices ``index + epoch * len(dataset)``: dataloader workers, even
    persistent ones, then draw the same pair as the sampler without seeing any
    attribute change. The epoch is read from ``sampler.epoch``, which
    mmengine's ``DistSamplerSeedHook`` sets through ``sampler.set_epoch``.

    Args:
        sampler (Sampler): Yields item indices; its ``dataset`` must be a
            :class:`MultiSkeletonDataset` (not wrapped).
        batch_size (int): Samples per batch.
        drop_last (bool): Drop each pair's last incomplete batch. Defaults to
            False.
    """

    def __init__(self,
                 sampler: Sampler,
                 batch_size: int,
                 drop_last: bool = False) -> None:
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f'batch_size must be a positive int, got '
                             f'{batch_size}')
        dataset = getattr(sampler, 'dataset', None)
        if not hasattr(dataset, 'pairs_of'):
            raise TypeError('ConventionGroupedBatchSampler needs a sampler '
                            'whose .dataset is a MultiSkeletonDataset, got '
                            f'{type(dataset).__name__}')
        self.sampler = sampler
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last

    @property
    def epoch(self) -> int:
        return int(getattr(self.sampler, 'epoch', 0))

    def set_epoch(self, epoch: int) -> None:
        """Forward to the wrapped sampler (the source of the epoch)."""
        self.sampler.set_epoch(epoch)

    def _indices_and_groups(self):
        indices = np.fromiter(iter(self.sampler), dtype=np.int64)
        query, key = self.dataset.pairs_of(indices + self.epoch * len(self.dataset))
        return indices, query * len(self.dataset.conv_names) + key

    def __iter__(self) -> Iterator[List[int]]:
        indices, groups = self._indices_and_groups()
        offset = self.epoch * len(self.dataset)
        buckets = {}
        for index, group in zip(indices.tolist(), groups.tolist()):
            bucket = buckets.setdefault(group, [])
            bucket.append(index + offset)
            if len(bucket) == self.batch_size:
                yield bucket
                buckets[group] = []
        if not self.drop_last:
            for bucket in buckets.values():
                if bucket:
                    yield bucket

    def __len__(self) -> int:
        """Exact number of batches of the current epoch."""
        _, groups = self._indices_and_groups()
        counts = np.unique(groups, return_counts=True)[1]
        if self.drop_last:
            return int((counts // self.batch_size).sum())
        return int(-(-counts // self.batch_size).sum())
