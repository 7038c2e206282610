from .multi_skeleton_data_preprocessor import MultiSkeletonDataPreprocessor

__all__ = ['MultiSkeletonDataPreprocessor']
