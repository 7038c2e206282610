from .perf import tune_allocator

__all__ = ['tune_allocator']
