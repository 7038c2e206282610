"""Deliberate fixes for three known breakages of the pinned OpenMMLab stack,
strict checkpoint loading and atomic checkpoint writing.

All are applied once, when :mod:`msclr_plugin` is imported (which configs do
through ``custom_imports``), and documented in ``docs/install.md`` and
``docs/evaluation.md``.

1. The PyPI wheel of mmaction2 1.2.0 lacks ``mmaction/models/localizers/drn``
   (open-mmlab/mmaction2#2714), so ``import mmaction.models`` fails. We put a
   placeholder module in ``sys.modules`` that provides a ``DRN`` which raises
   a clear error if anyone tries to build it. Nothing else is touched, and
   nothing is done where the real module exists.

2. mmengine 0.10.7 saves ``HistoryBuffer`` objects (numpy arrays inside) in
   every checkpoint, which torch >= 2.6 refuses to load with its default
   ``weights_only=True`` (open-mmlab/mmengine#1655). Rather than falling back
   to a full pickle load (arbitrary code execution), we make ``HistoryBuffer``
   pickle itself as plain lists and allowlist the class, so the checkpoints
   written by any run that imported the plugin load with ``weights_only=True``
   (numpy scalars, which mmengine keeps in its runtime info, are allowlisted
   too: a dtype and raw bytes, nothing executable)
   for every purpose: ``load_from``, ``init_cfg`` Pretrained, ``resume`` and
   ``tools/test.py``. The local-file checkpoint loader is replaced by one that
   always passes ``weights_only=True`` and names the offending globals when a
   foreign file cannot be loaded that way.

3. mmengine loads ``load_from`` / ``resume`` / ``tools/test.py`` checkpoints
   with ``strict=False``: a checkpoint of another model "loads" with only
   warnings and evaluates at chance. ``Runner.load_checkpoint`` is replaced by
   a strict one (:func:`runner_load_checkpoint`); ``init_cfg`` Pretrained is
   strict too (:class:`msclr_plugin.models.StrictPretrainedInit`).

4. mmengine writes checkpoints (and the ``last_checkpoint`` pointer) in
   place, so a kill or a full disk during a save leaves a truncated file
   that a later ``--resume`` trips over. Local files are written through
   :class:`~msclr_plugin.utils.checkpoint_files.AtomicLocalBackend`
   (temporary file, then rename) instead.

5. mmaction2 1.2.0 imports its VindLU models whenever ``transformers>=4.28``
   is installed, and they import ``apply_chunking_to_forward`` from
   ``transformers.modeling_utils``, which transformers 5 removed: with
   transformers 5 installed (as on the lent GPU machine's image) ``import
   mmaction.models`` fails. The multimodal models are registered as
   mmaction's own placeholders instead (they raise a clear error if built).

6. mmcv-lite warns "Fail to import ``MultiScaleDeformableAttention``" when
   ``mmcv.cnn.bricks.transformer`` is imported (by mmaction's models), in
   every tool, ``--help`` included. That compiled op is absent from
   mmcv-lite by design and nothing here uses it: this one warning (its
   message, from that module) is ignored; every other warning stays.
"""
import importlib.metadata
import importlib.util
import os.path as osp
import re
import sys
import types
import warnings

import torch
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import _load_checkpoint

from msclr_plugin.utils.checkpoint import (is_pretraining_state,
                                           load_state_dict_strict,
                                           read_checkpoint, state_dict_of)

# before anything imports mmcv.cnn (see 6. above)
warnings.filterwarnings(
    'ignore',
    message=r'Fail to import ``MultiScaleDeformableAttention``',
    category=UserWarning,
    module=r'mmcv\.cnn\.bricks\.transformer')

_APPLIED = False


def _stub_missing_drn() -> None:
    spec = importlib.util.find_spec('mmaction')
    if spec is None or spec.origin is None:
        return
    drn_dir = osp.join(osp.dirname(spec.origin), 'models', 'localizers', 'drn')
    name = 'mmaction.models.localizers.drn'
    if osp.isdir(drn_dir) or name in sys.modules:
        return

    class DRN:  # noqa: D401 - placeholder with the real class's name
        """Placeholder for mmaction2's DRN localizer, absent from its wheel."""

        def __init__(self, *args, **kwargs):
            raise ImportError(
                'mmaction.models.localizers.drn is missing from the installed '
                'mmaction2 wheel (open-mmlab/mmaction2#2714); msclr_plugin '
                'stubbed it so that mmaction.models imports. DRN itself is '
                'unavailable.')

    package = types.ModuleType(name)
    package.__path__ = []
    module = types.ModuleType(name + '.drn')
    module.DRN = DRN
    package.drn = module
    sys.modules[name] = package
    sys.modules[name + '.drn'] = module


def _skip_incompatible_multimodal() -> None:
    try:
        major = int(importlib.metadata.version('transformers').split('.')[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return
    if major >= 5 and 'mmaction.models.multimodal' not in sys.modules:
        import mmaction.utils.dependency as dependency
        dependency.WITH_MULTIMODAL = False


def _history_buffer_reduce(self):
    # Plain lists and an int: loadable under weights_only=True.
    return (type(self), (self._log_history.tolist(),
                         self._count_history.tolist(), self.max_length))


def _numpy_scalar_globals() -> list:
    import numpy as np
    dtypes = {type(np.dtype(code)) for code in np.typecodes['All']
              if code not in 'OMmSUV'}
    return [np.core.multiarray.scalar, np.dtype] + sorted(
        dtypes, key=lambda t: t.__name__)


def load_from_local_weights_only(filename: str, map_location=None):
    """Load a local checkpoint with ``weights_only=True`` (mmengine's loader
    for paths without a URL scheme; its log names it by its suffix).

    Args:
        filename (str): Path of the checkpoint file.
        map_location (str | callable, optional): As in :func:`torch.load`.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: If the file does not exist.
        UnsafeCheckpointError: If the file holds objects a weights-only load
            refuses; the message names them and the trusted conversion route.
        CheckpointError: If the file is no PyTorch checkpoint.
    """
    return read_checkpoint(filename, map_location=map_location)


def runner_load_checkpoint(self,
                           filename: str,
                           map_location='cpu',
                           strict: bool = True,
                           revise_keys: list = [(r'^module\.', '')]):
    """``Runner.load_checkpoint`` (``load_from``, ``resume``,
    ``tools/test.py``), strict: see :func:`load_state_dict_strict`.

    ``load_cfg = dict(exclude=[...])`` in the config leaves keys at their
    initial values on purpose (e.g. a new head); it applies to ``load_from``
    only, never to ``resume``, which restores everything.
    """
    checkpoint = _load_checkpoint(filename, map_location=map_location)
    self.call_hook('after_load_checkpoint', checkpoint=checkpoint)
    model = self.model.module if is_model_wrapper(self.model) else self.model
    state = state_dict_of(checkpoint, filename)
    for pattern, repl in revise_keys:
        state = {re.sub(pattern, repl, k): v for k, v in state.items()}
    options = {} if self._resume else dict(self.cfg.get('load_cfg') or {})
    unknown = set(options) - {'exclude'}
    if unknown:
        raise KeyError(f'load_cfg accepts exclude only, got {sorted(unknown)}')
    load_state_dict_strict(
        model,
        state,
        filename,
        exclude=options.get('exclude', ()),
        strict=strict,
        hint=('It is a pretraining checkpoint: train an evaluation model '
              'from it (init_cfg Pretrained, docs/evaluation.md) and test '
              'that.' if is_pretraining_state(state) and not self._resume else
              'Check that the config matches the checkpoint (classes, '
              'conventions, channels). To train from it with a new head, '
              "leave that at its initial values: load_cfg = dict(exclude="
              "['cls_head.*'])."),
        logger=self.logger)
    self._has_loaded = True
    return checkpoint


def apply() -> None:
    """Apply the fixes, strict loading and atomic writing (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    _stub_missing_drn()
    _skip_incompatible_multimodal()

    from mmengine.fileio import register_backend
    from mmengine.logging import HistoryBuffer
    from mmengine.runner import Runner
    from mmengine.runner.checkpoint import CheckpointLoader
    from msclr_plugin.utils.checkpoint_files import AtomicLocalBackend
    HistoryBuffer.__reduce__ = _history_buffer_reduce
    torch.serialization.add_safe_globals([HistoryBuffer] +
                                         _numpy_scalar_globals())
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_from_local_weights_only, force=True)
    Runner.load_checkpoint = runner_load_checkpoint
    register_backend('local', AtomicLocalBackend, force=True, prefixes='')
    _APPLIED = True
