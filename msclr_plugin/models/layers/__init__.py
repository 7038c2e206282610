from .masked_bn import MaskedBatchNorm2d
from .st_block import GraphConv, STGCNBlock, TemporalConv

__all__ = ['MaskedBatchNorm2d', 'GraphConv', 'TemporalConv', 'STGCNBlock']
