from .d3m_loss import D3MLoss
from .multi_pos_info_nce_loss import MultiPosInfoNCELoss

__all__ = ['MultiPosInfoNCELoss', 'D3MLoss']
