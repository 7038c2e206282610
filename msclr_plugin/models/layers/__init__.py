from .convention_bn import (ConventionBatchNorm, expand_norm_state_dict,
                            set_norm_conventions)
from .dropout import MSDropout
from .masked_bn import MaskedBatchNorm2d
from .sync_bn import MaskedSyncBatchNorm, convert_sync_batchnorm
from .st_block import GraphConv, STGCNBlock, TemporalConv

__all__ = [
    'ConventionBatchNorm', 'expand_norm_state_dict', 'set_norm_conventions',
    'MSDropout', 'MaskedBatchNorm2d', 'MaskedSyncBatchNorm', 'convert_sync_batchnorm',
    'GraphConv', 'TemporalConv', 'STGCNBlock'
]
