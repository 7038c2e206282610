from .eadm import EnergyAttentionDrop
from .ms_projection_neck import MSProjectionNeck

__all__ = ['MSProjectionNeck', 'EnergyAttentionDrop']
