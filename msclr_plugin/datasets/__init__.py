from .collate import multi_skeleton_collate
from .label_subset import select_labelled_subset
from .multi_skeleton_dataset import MultiSkeletonDataset
from .samplers import ConventionGroupedBatchSampler
from .store import InvalidClipError, SkeletonStore, SkeletonStoreWriter
from .store_check import StoreCheck, check_store
from .transforms import *  # noqa: F401,F403

__all__ = [
    'MultiSkeletonDataset', 'ConventionGroupedBatchSampler', 'SkeletonStore',
    'SkeletonStoreWriter', 'InvalidClipError', 'StoreCheck', 'check_store',
    'select_labelled_subset', 'multi_skeleton_collate'
]
