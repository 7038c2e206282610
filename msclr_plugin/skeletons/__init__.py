"""Skeleton conventions as data: the only module that knows joint indices."""
from .builtin import KINECT_V1_SDK_ORDER
from .layout import SkeletonLayout, flip_from_names
from .registry import (get_layout, layout_from_mmpose_meta, list_layouts,
                       register_layout, shared_joints)
from .regressors import JointRegressor

__all__ = [
    'SkeletonLayout', 'flip_from_names', 'get_layout', 'list_layouts',
    'register_layout', 'layout_from_mmpose_meta', 'JointRegressor',
    'shared_joints', 'KINECT_V1_SDK_ORDER'
]
