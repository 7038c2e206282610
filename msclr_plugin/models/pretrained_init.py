"""Strict ``init_cfg=dict(type='Pretrained', ...)``."""
from typing import Optional, Sequence

import torch.nn as nn
from mmengine.model.weight_init import PretrainedInit, update_init_info

from mmaction.registry import WEIGHT_INITIALIZERS
from msclr_plugin.utils.checkpoint import load_checkpoint_strict


@WEIGHT_INITIALIZERS.register_module(name='Pretrained', force=True)
class StrictPretrainedInit(PretrainedInit):
    """mmengine's ``Pretrained`` initialiser, strict.

    Registered as ``'Pretrained'`` in mmaction's scope, so every config with
    ``default_scope='mmaction'`` gets it. The keys under ``prefix`` must
    match the module's exactly (names and shapes) or initialisation fails
    listing the missing, unexpected and mismatched keys; the keys outside
    ``prefix`` (a pretraining checkpoint's key encoder, projector and queue)
    are left out by name, and one log line says what was loaded.

    Args:
        checkpoint (str): The checkpoint file. Required: a config that leaves
            it ``None`` fails with the option to set.
        prefix (str, optional): The module's prefix in the checkpoint, e.g.
            ``'backbone.'``. None loads the whole state dict.
        map_location (str): As in :func:`torch.load`. Defaults to ``'cpu'``.
        exclude (Sequence[str]): ``fnmatch`` patterns of the module's keys
            left at their initial values on purpose (partial loading).
    """

    def __init__(self,
                 checkpoint: Optional[str] = None,
                 prefix: Optional[str] = None,
                 map_location: str = 'cpu',
                 exclude: Sequence[str] = ()) -> None:
        super().__init__(checkpoint, prefix=prefix, map_location=map_location)
        self.exclude = list(exclude)

    def __call__(self, module: nn.Module) -> None:
        name = type(module).__name__
        if not self.checkpoint:
            raise ValueError(
                f"{name}: init_cfg type='Pretrained' has no checkpoint. Set "
                'it, e.g. `--cfg-options model.backbone.init_cfg.checkpoint='
                '<pretraining checkpoint>.pth` (docs/evaluation.md)')
        load_checkpoint_strict(
            module,
            self.checkpoint,
            prefix=self.prefix,
            exclude=self.exclude,
            map_location=self.map_location,
            target=name,
            hint=("To leave keys at their initial values on purpose, set "
                  "init_cfg.exclude=['<pattern>', ...]."))
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())
