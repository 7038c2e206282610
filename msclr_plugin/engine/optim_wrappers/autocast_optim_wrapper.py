"""bfloat16 autocast without loss scaling."""
from contextlib import contextmanager
from typing import Union

import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper

from mmaction.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward runs under ``torch.autocast`` in
    bfloat16, with no loss scaling.

    bfloat16 has float32's exponent range, so gradients need no loss
    scaling. mmengine's ``AmpOptimWrapper`` always scales (a ``GradScaler``
    whose step reads the device for an inf check, a host synchronisation
    every iteration); this wrapper steps like a plain ``OptimWrapper``. The
    autocast weight cache is off, so that a step can be captured in a CUDA
    graph (``MSMoCo(cuda_graph=True)``); the encoder's weights are few.

    Args:
        dtype (str | torch.dtype): Autocast dtype, ``'bfloat16'`` (the only
            one that needs no loss scaling). Defaults to ``'bfloat16'``.
        **kwargs: ``OptimWrapper`` arguments (``optimizer``, ``clip_grad``,
            ``accumulative_counts``).
    """

    def __init__(self,
                 dtype: Union[str, torch.dtype] = 'bfloat16',
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if isinstance(dtype, str):
            dtype = getattr(torch, dtype, None)
        if dtype is not torch.bfloat16:
            raise ValueError('AutocastOptimWrapper runs bfloat16 only (no '
                             'loss scaling); use AmpOptimWrapper for '
                             f'float16, got {dtype}')
        self.cast_dtype = dtype

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-accumulation context and bfloat16 autocast on the
        device of the model's parameters."""
        device = next(model.parameters()).device.type
        with super().optim_context(model), torch.autocast(
                device, dtype=self.cast_dtype, cache_enabled=False):
            yield
