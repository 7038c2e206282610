from .ms_linear_head import MSLinearHead

__all__ = ['MSLinearHead']
