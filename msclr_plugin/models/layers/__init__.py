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
    'MSDropout', 'MaskedBatchNorm2d', 'MaskedSyncBatchNorm', 'convert_sync_batchnorm',
    'GraphConv', 'TemporalConv', 'STGCNBlock', 'ConventionBatch', 'PerConvention',
    'PerConventionParameter', 'MultiScaleTemporalConv', 'AAGraphConv', 'CTRGraphConv',
    'GCNBlock'
]
