from .multi_skeleton_dataset import MultiSkeletonDataset
from .samplers import ConventionGroupedBatchSampler
from .store import SkeletonStore, SkeletonStoreWriter
from .transforms import *  # noqa: F401,F403

__all__ = [
    'MultiSkeletonDataset', 'ConventionGroupedBatchSampler', 'SkeletonStore',
    'SkeletonStoreWriter'
]
