from .ms_aimclr import MSAimCLR
from .ms_crossclr import MSCrosSCLR
from .ms_moco import MSMoCo
from .ms_recognizer_gcn import MSRecognizerGCN, load_pretrained_backbone

__all__ = ['MSMoCo', 'MSAimCLR']
__all__ += ['MSRecognizerGCN', 'load_pretrained_backbone']
__all__ += ['MSCrosSCLR']
