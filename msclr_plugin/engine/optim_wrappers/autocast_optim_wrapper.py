"""bfloat16 autocast without loss scaling."""
import logging
from contextlib import contextmanager
from typing import Union

import torch
import torch.nn as nn
from mmengine.logging import print_log
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
        self._checked_cpu = False

    @contextmanager
    def optim_context(self, model: nn.Module):
        """Gradient-accumulation context and bfloat16 autocast on the
        device of the model's parameters."""
        device = next(model.parameters()).device.type
        if device == 'cpu' and not self._checked_cpu:
            self._checked_cpu = True
            if not cpu_has_bf16():
                print_log(
                    'AutocastOptimWrapper on a CPU without native bfloat16 '
                    '(AVX512-BF16 or AMX): oneDNN emulates it and a step is '
                    'slower than in float32; drop the wrapper on this '
                    'machine', logger='current', level=logging.WARNING)
        with super().optim_context(model), torch.autocast(
                device, dtype=self.cast_dtype, cache_enabled=False):
            yield


def cpu_has_bf16() -> bool:
    """Whether oneDNN runs bfloat16 natively on this CPU (AVX512-BF16 or
    AMX). Where it does, a grouped MS-AimCLR step at AimCLR's width takes
    0.56-0.57x the float32 time on the CPU (docs/benchmarks.md)."""
    return torch.ops.mkldnn._is_mkldnn_bf16_supported()
