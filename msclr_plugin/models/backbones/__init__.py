from .msstgcn import MSSTGCN, stgcn_state_dict_to_msstgcn

__all__ = ['MSSTGCN', 'stgcn_state_dict_to_msstgcn']
