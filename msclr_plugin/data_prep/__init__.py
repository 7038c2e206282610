"""Converters from raw datasets to skeleton stores (used by tools/data).

One module per source: :mod:`.ntu` (NTU RGB+D raw skeletons),
:mod:`.arrays` (any recordings: per-clip arrays or per-frame text rows in a
declared layout), :mod:`.mmaction_pkl` (mmaction2/pyskl pickles),
:mod:`.attach` (extra conventions from per-clip files or derived by
regression), :mod:`.msr3d` (MSR Action3D), :mod:`.bvh` (Bandai Namco BVH
mocap) and :mod:`.video` (pose extractors). Imported on
demand; nothing here is registered.
"""
from .common import ConversionError, SkipReport

__all__ = ['ConversionError', 'SkipReport']
