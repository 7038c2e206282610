from .dropout import MSDropout
from .masked_bn import MaskedBatchNorm2d
from .st_block import GraphConv, STGCNBlock, TemporalConv

__all__ = ['MSDropout', 'MaskedBatchNorm2d', 'GraphConv', 'TemporalConv', 'STGCNBlock']
