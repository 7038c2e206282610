from .msaagcn import MSAAGCN, aagcn_state_dict_to_msaagcn
from .msctrgcn import MSCTRGCN, ctrgcn_state_dict_to_msctrgcn
from .msstgcn import MSSTGCN, stgcn_state_dict_to_msstgcn
from .msstgcn_plusplus import MSSTGCNPlusPlus

__all__ = [
    'MSSTGCN', 'MSSTGCNPlusPlus', 'MSAAGCN', 'MSCTRGCN',
    'stgcn_state_dict_to_msstgcn', 'aagcn_state_dict_to_msaagcn',
    'ctrgcn_state_dict_to_msctrgcn'
]
