from .multi_skeleton_graph import MultiSkeletonGraph, adjacency

__all__ = ['MultiSkeletonGraph', 'adjacency']
