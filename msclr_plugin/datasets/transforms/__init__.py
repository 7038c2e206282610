from .ms_axis_mask import MSAxisMask
from .ms_gaussian_blur import MSGaussianBlur
from .ms_gaussian_noise import MSGaussianNoise
from .ms_gen_stream import MSGenStream
from .ms_multi_view import MSMultiView
from .ms_person_padding import MSPersonPadding
from .ms_pre_normalize import MSPreNormalize
from .ms_resample import MSResample
from .ms_rotate import MSRotate
from .ms_shear import MSShear
from .ms_spatial_flip import MSSpatialFlip
from .ms_temporal_crop import MSTemporalCrop
from .pack_multi_skeleton_inputs import PackMultiSkeletonInputs

__all__ = [
    'MSAxisMask', 'MSGaussianBlur', 'MSGaussianNoise', 'MSGenStream', 'MSMultiView',
    'MSPersonPadding', 'MSPreNormalize', 'MSResample', 'MSRotate', 'MSShear',
    'MSSpatialFlip', 'MSTemporalCrop', 'PackMultiSkeletonInputs'
]
