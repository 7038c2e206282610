"""Converters from raw datasets to skeleton stores (used by tools/data).

One module per source: :mod:`.ntu` (NTU RGB+D raw skeletons),
:mod:`.mmaction_pkl` (mmaction2/pyskl pickles), :mod:`.attach` (extra
conventions from per-clip files), :mod:`.msr3d` (MSR Action3D), :mod:`.bvh`
(Bandai Namco BVH mocap) and :mod:`.video` (pose extractors). Imported on
demand; nothing here is registered.
"""
from .common import ConversionError, SkipReport

__all__ = ['ConversionError', 'SkipReport']
