from .convention_bn import (ConventionBatchNorm, expand_norm_state_dict,
                            set_norm_conventions, to_convention_bn)
from .dropout import MSDropout
from .masked_bn import MaskedBatchNorm2d
from .sync_bn import MaskedSyncBatchNorm, convert_sync_batchnorm
from .st_block import GraphConv, STGCNBlock, TemporalConv
from .conventions import ConventionBatch, PerConvention, PerConventionParameter
from .ms_tcn import MultiScaleTemporalConv
from .aagcn_unit import AAGraphConv
from .ctrgcn_unit import CTRGraphConv
from .gcn_block import GCNBlock

__all__ = [
    'ConventionBatchNorm', 'expand_norm_state_dict', 'set_norm_conventions',
    'to_convention_bn',
    'MSDropout', 'MaskedBatchNorm2d', 'MaskedSyncBatchNorm', 'convert_sync_batchnorm',
    'GraphConv', 'TemporalConv', 'STGCNBlock', 'ConventionBatch', 'PerConvention',
    'PerConventionParameter', 'MultiScaleTemporalConv', 'AAGraphConv', 'CTRGraphConv',
    'GCNBlock'
]
