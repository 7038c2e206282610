"""Batches of one (query, key) convention pair: no padding in a batch."""
from typing import Iterator, List

import numpy as np
import torch
from mmaction.registry import DATA_SAMPLERS
from mmengine.dataset import DefaultSampler
from mmengine.dist import get_dist_info
from torch.utils.data import BatchSampler, Sampler


@DATA_SAMPLERS.register_module()
class ConventionGroupedBatchSampler(BatchSampler):
    """Group the indices of a sampler by their (query, key) convention pair.

    In the style of mmdet's ``AspectRatioBatchSampler``: the epoch's item
    order goes into one bucket per convention pair, and a bucket becomes a
    batch as soon as it holds ``batch_size * world_size`` indices (a global
    batch). Every rank computes the same global batches from the same order
    and takes its share (``batch[rank::world_size]``), so at every iteration
    all ranks train on the same pair (DDP reduces the same parameters), hold
    ``batch_size`` samples each and run the same number of iterations. In
    one process this is plain bucketing of ``sampler``'s order.

    Leftovers (each pair's last, incomplete bucket):

    - ``mix_leftovers=False`` (default): yielded at the end of the epoch
      unless ``drop_last``. An epoch then has ``sum_p floor(n_p / B)``
      batches with ``drop_last`` (``ceil`` without), where ``n_p`` is the
      number of items of pair ``p`` (random per epoch) and ``B = batch_size
      * world_size``: the length varies a little between epochs, and is
      shorter than a plain sampler's by up to one batch per pair.
    - ``mix_leftovers=True``: the leftovers of all pairs are pooled and cut
      into mixed batches (zero-padded and masked by the model, the paper's
      form), so an epoch has exactly ``floor(len(dataset) / B)`` batches
      with ``drop_last`` (``ceil`` without): the count of a plain sampler,
      the same every epoch. Two configs then take equal steps when
      ``max_epochs * that`` agree (docs/datasets.md).

    A last global batch smaller than ``B`` (``drop_last=False``) is split as
    evenly as possible, repeating some of its items so that every rank gets
    the same number.

    The pair of an item depends on the epoch (the key convention is drawn
    from ``hash(seed, epoch, index)``), so the sampler yields epoch-encoded
    indices ``index + epoch * len(dataset)``: dataloader workers, even
    persistent ones, then draw the same pair as the sampler without seeing any
    attribute change. The epoch is read from ``sampler.epoch``, which
    mmengine's ``DistSamplerSeedHook`` sets through ``sampler.set_epoch``.

    Args:
        sampler (Sampler): Yields item indices; its ``dataset`` must be a
            :class:`MultiSkeletonDataset` (not wrapped). With several
            processes it must be mmengine's ``DefaultSampler``, whose global
            order (``shuffle``, ``seed + epoch``) is rebuilt here.
        batch_size (int): Samples per batch and process.
        drop_last (bool): Drop the last incomplete batch(es). Defaults to
            False.
        mix_leftovers (bool): Pool the pairs' leftovers into mixed batches.
            Defaults to False.
    """

    def __init__(self,
                 sampler: Sampler,
                 batch_size: int,
                 drop_last: bool = False,
                 mix_leftovers: bool = False) -> None:
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ValueError(f'batch_size must be a positive int, got '
                             f'{batch_size}')
        dataset = getattr(sampler, 'dataset', None)
        if not hasattr(dataset, 'pairs_of'):
            raise TypeError('ConventionGroupedBatchSampler needs a sampler '
                            'whose .dataset is a MultiSkeletonDataset, got '
                            f'{type(dataset).__name__}')
        self.rank, self.world_size = ((sampler.rank, sampler.world_size)
                                      if isinstance(sampler, DefaultSampler)
                                      else get_dist_info())
        if self.world_size > 1 and not isinstance(sampler, DefaultSampler):
            raise TypeError(
                'ConventionGroupedBatchSampler with several processes needs '
                "mmengine's DefaultSampler (every rank rebuilds its global "
                f'order), got {type(sampler).__name__}')
        self.sampler = sampler
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.mix_leftovers = mix_leftovers

    @property
    def epoch(self) -> int:
        return int(getattr(self.sampler, 'epoch', 0))

    def set_epoch(self, epoch: int) -> None:
        """Forward to the wrapped sampler (the source of the epoch)."""
        self.sampler.set_epoch(epoch)

    def _order(self) -> np.ndarray:
        """The epoch's item order over all ranks."""
        if not isinstance(self.sampler, DefaultSampler):
            return np.fromiter(iter(self.sampler), dtype=np.int64)
        if not self.sampler.shuffle:
            return np.arange(len(self.dataset), dtype=np.int64)
        # DefaultSampler's permutation before it pads and shards by rank
        generator = torch.Generator()
        generator.manual_seed(self.sampler.seed + self.epoch)
        return torch.randperm(len(self.dataset), generator=generator).numpy()

    def _groups(self, order: np.ndarray) -> np.ndarray:
        query, key = self.dataset.pairs_of(order + self.epoch * len(self.dataset))
        return query * len(self.dataset.conv_names) + key

    def _global_batches(self) -> List[List[int]]:
        order = self._order()
        offset = self.epoch * len(self.dataset)
        size = self.batch_size * self.world_size
        batches, buckets = [], {}
        for index, group in zip(order.tolist(), self._groups(order).tolist()):
            bucket = buckets.setdefault(group, [])
            bucket.append(index + offset)
            if len(bucket) == size:
                batches.append(bucket)
                buckets[group] = []
        leftovers = [bucket for bucket in buckets.values() if bucket]
        if self.mix_leftovers:
            pooled = [index for bucket in leftovers for index in bucket]
            leftovers = [pooled[i:i + size] for i in range(0, len(pooled), size)]
        batches += [b for b in leftovers if len(b) == size or not self.drop_last]
        return batches

    def __iter__(self) -> Iterator[List[int]]:
        world = self.world_size
        for batch in self._global_batches():
            if len(batch) % world:
                per_rank = -(-len(batch) // world)
                batch = (batch * world)[:per_rank * world]
            yield batch[self.rank::world]

    def __len__(self) -> int:
        """Exact number of batches of the current epoch (on every rank)."""
        size = self.batch_size * self.world_size
        if self.mix_leftovers:
            total = len(self.sampler) if not isinstance(
                self.sampler, DefaultSampler) else len(self.dataset)
            return total // size if self.drop_last else -(-total // size)
        counts = np.unique(self._groups(self._order()), return_counts=True)[1]
        if self.drop_last:
            return int((counts // size).sum())
        return int(-(-counts // size).sum())
