"""Deliberate fixes for two known breakages of the pinned OpenMMLab stack.

Both are applied once, when :mod:`msclr_plugin` is imported (which configs do
through ``custom_imports``), and both are documented in ``docs/install.md``.

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
"""
import importlib.util
import os.path as osp
import pickle
import sys
import types

import torch

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


def load_checkpoint_weights_only(filename: str, map_location=None):
    """Load a local checkpoint with ``weights_only=True``.

    Args:
        filename (str): Path of the checkpoint file.
        map_location (str | callable, optional): As in :func:`torch.load`.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: If the file does not exist.
        RuntimeError: If the file holds objects a weights-only load refuses;
            the message names them and the trusted conversion route.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        try:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(
                filename)
        except Exception:  # not a zip checkpoint: the error says enough
            unsafe = []
        raise RuntimeError(
            f'{filename}: msclr_plugin loads checkpoints with '
            f'weights_only=True, and this file holds objects beyond tensors '
            f'and plain containers {unsafe or ""}. If you trust the file, '
            'convert it once with `python tools/misc/convert_checkpoint.py '
            f'--trust-pickle {filename} <out.pth>`, which keeps its '
            'state_dict and meta.') from err


def apply() -> None:
    """Apply both fixes (idempotent)."""
    global _APPLIED
    if _APPLIED:
        return
    _stub_missing_drn()

    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import CheckpointLoader
    HistoryBuffer.__reduce__ = _history_buffer_reduce
    torch.serialization.add_safe_globals([HistoryBuffer] +
                                         _numpy_scalar_globals())
    CheckpointLoader.register_scheme(
        prefixes='', loader=load_checkpoint_weights_only, force=True)
    _APPLIED = True
