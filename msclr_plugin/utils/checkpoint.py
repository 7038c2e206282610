"""Reading checkpoints safely and loading them strictly.

Reading: :func:`read_checkpoint` always uses ``torch.load(weights_only=True)``
(tensors, plain containers and scalars); a file that needs more is refused
with the globals it would import, and a file that is no checkpoint at all
gets an error naming it. The one path that unpickles is
``read_checkpoint(..., trust=True)``, used by ``tools/convert_checkpoint.py
--trust`` only.

Loading: :func:`load_state_dict_strict` loads a state dict into a module and
fails, listing them, on missing, unexpected and shape-mismatched keys.
Partial loading is explicit (``exclude`` patterns: keys left at their
initial values on both sides, e.g. a new head). A pretraining checkpoint's
key encoder, projector and queue (:data:`PRETRAINING_ONLY`) are dropped by
name when the target model has no such module. Every load logs one line
saying what was loaded and what was left out.
"""
import fnmatch
import os.path as osp
import pickle
import pickletools
import zipfile
from collections import OrderedDict
from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence

import torch
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

# Top-level modules of this project's pretraining recognizers that an
# evaluation model does not have: the key encoder, the projector, the queue.
PRETRAINING_ONLY = ('momentum_backbone', 'momentum_neck', 'neck', 'queue',
                    'queue_ptr')
TRUST_HINT = ('If you trust its source, convert it once with `python '
              'tools/convert_checkpoint.py {file} <out.pth> --trust` (the '
              'only path that unpickles a file); the result loads with '
              'weights_only=True.')


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read or does not fit its model."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint that only a full (code-executing) unpickling can read."""


class CheckpointMismatchError(CheckpointError):
    """A checkpoint whose keys or shapes do not match the model's."""


class LoadReport(NamedTuple):
    """What :func:`load_state_dict_strict` did.

    Attributes:
        loaded (list[str]): Model keys loaded from the checkpoint.
        excluded (list[str]): Model keys left at their initial values on
            purpose (``exclude``).
        dropped (list[str]): Checkpoint keys not loaded on purpose (outside
            the prefix, pretraining-only, or ``exclude``).
        missing (list[str]): Model keys absent from the checkpoint (non-empty
            only with ``strict=False``).
        unexpected (list[str]): Checkpoint keys unknown to the model (idem).
        mismatched (list[str]): Keys of another shape (idem).
    """
    loaded: List[str]
    excluded: List[str]
    dropped: List[str]
    missing: List[str]
    unexpected: List[str]
    mismatched: List[str]


# ----------------------------------------------------------------- reading
def _file_kind(filename: str) -> str:
    """``'zip'`` (torch.save), ``'legacy'`` (torch.save before torch 1.6),
    ``'pickle'`` (pickle.dump) or ``'unknown'``."""
    with open(filename, 'rb') as f:
        head = f.read(4)
        if head == b'PK\x03\x04' or zipfile.is_zipfile(filename):
            return 'zip'
        if len(head) < 2 or head[0] != 0x80:  # pickle protocol >= 2
            return 'unknown'
        f.seek(0)
        try:
            magic = _NoGlobals(f).load()
        except Exception:
            return 'pickle'
    return 'legacy' if magic == torch.serialization.MAGIC_NUMBER else 'pickle'


class _NoGlobals(pickle.Unpickler):
    """Reads plain data only (the magic number heading a legacy file)."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f'global {module}.{name}')


def _pickle_globals(filename: str, max_pickles: int = 8) -> List[str]:
    """Globals a pickle stream imports, read from its opcodes (nothing is
    executed). A legacy torch file is several pickles in a row."""
    found = []
    with open(filename, 'rb') as f:
        for _ in range(max_pickles):
            recent, memo = [], {}
            try:
                for op, arg, _ in pickletools.genops(f):
                    name = op.name
                    if name in ('GLOBAL', 'INST'):
                        found.append(arg.replace(' ', '.'))
                    elif name == 'STACK_GLOBAL':
                        found.append(f'{recent[-2]}.{recent[-1]}'
                                     if len(recent) > 1 else '?')
                        recent.append(None)
                    elif isinstance(arg, str) and ('UNICODE' in name
                                                   or 'STRING' in name):
                        recent.append(arg)
                    elif name in ('MEMOIZE', 'PUT', 'BINPUT', 'LONG_BINPUT'):
                        memo[len(memo) if name == 'MEMOIZE' else arg] = (
                            recent[-1] if recent else None)
                    elif name in ('GET', 'BINGET', 'LONG_BINGET'):
                        recent.append(memo.get(arg))
                    else:
                        recent.append(None)
            except Exception:  # end of the pickles, raw storage bytes follow
                break
    return found


def _allowed_globals() -> set:
    from torch import _weights_only_unpickler
    allowed = set(_weights_only_unpickler._get_allowed_globals())
    for entry in torch.serialization.get_safe_globals():
        obj, name = entry if isinstance(entry, tuple) else (entry, None)
        allowed.add(name or f'{obj.__module__}.{obj.__qualname__}')
    return allowed


def unsafe_globals(filename: str) -> List[str]:
    """Globals of a checkpoint that a ``weights_only=True`` load refuses.

    Works for ``torch.save`` files (zip and legacy) and plain pickles, and
    executes nothing. Returns an empty list for a file that is no pickle.
    """
    kind = _file_kind(filename)
    if kind == 'zip':
        try:
            return list(
                torch.serialization.get_unsafe_globals_in_checkpoint(filename))
        except Exception:
            return []
    if kind == 'unknown':
        return []
    allowed = _allowed_globals()
    return sorted({g for g in _pickle_globals(filename) if g not in allowed})


def read_checkpoint(filename: str, map_location=None, trust: bool = False):
    """Read a local checkpoint file.

    Args:
        filename (str): Path of the checkpoint.
        map_location: As in :func:`torch.load`.
        trust (bool): Unpickle the file in full (``weights_only=False``),
            which can run code from it: only for files of a trusted source,
            and only ``tools/convert_checkpoint.py --trust`` does it.

    Returns:
        The loaded object (usually a dict).

    Raises:
        FileNotFoundError: No such file.
        UnsafeCheckpointError: The file needs a full unpickling; the message
            names the globals and the trusted conversion route.
        CheckpointError: The file is no PyTorch checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename}: no such checkpoint file')
    if trust:
        return torch.load(filename, map_location=map_location,
                          weights_only=False)
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except Exception as err:
        kind = _file_kind(filename)
        unsafe = unsafe_globals(filename)
        what = {
            'zip': 'torch.save file',
            'legacy': 'legacy (pre-1.6) torch.save file',
            'pickle': 'plain pickle (not written by torch.save)',
            'unknown': 'file'
        }[kind]
        if unsafe:
            raise UnsafeCheckpointError(
                f'{filename}: refused. msclr_plugin loads checkpoints with '
                f'weights_only=True, and this {what} holds objects beyond '
                f'tensors and plain containers, built by the globals '
                f'{unsafe}; unpickling it can run arbitrary code. ' +
                TRUST_HINT.format(file=filename)) from err
        if kind == 'unknown':
            with open(filename, 'rb') as f:
                head = f.read(16)
            reason = (f'neither a torch.save zip archive nor a pickle (first '
                      f'bytes {head!r})' if head else 'an empty file')
        else:
            # torch's weights-only error ends with the actual cause
            cause = str(err).split('WeightsUnpickler error:')[-1].strip()
            reason = (f'a damaged {what}: torch.load failed with '
                      f'{type(err).__name__}: {cause.splitlines()[0][:200]}'
                      if cause else f'a damaged {what}: {type(err).__name__}')
        raise CheckpointError(
            f'{filename}: not a PyTorch checkpoint: {reason}') from err


def state_dict_of(checkpoint, filename: str) -> Dict[str, torch.Tensor]:
    """The state dict of a loaded checkpoint (its ``'state_dict'`` entry or
    the checkpoint itself), checked to map names to tensors."""
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f'{filename}: holds a {type(checkpoint).__name__}, not a dict '
            'with a state_dict')
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict) or not state:
        raise CheckpointError(f'{filename}: its state_dict is empty or not '
                              'a dict')
    bad = [k for k, v in state.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(
            f'{filename}: not a state dict: {describe_keys(bad)} are not '
            f'tensors (top-level keys: {describe_keys(list(checkpoint))})')
    return state


# ----------------------------------------------------------------- loading
def describe_keys(keys: Iterable[str],
                  limit: int = 12,
                  examples: bool = True) -> str:
    """Short listing of keys: all of them up to ``limit``, else grouped by
    their first component with counts (and a few examples)."""
    keys = sorted(keys)
    if len(keys) <= limit:
        return ', '.join(keys)
    groups = OrderedDict()
    for key in keys:
        groups.setdefault(key.split('.')[0], []).append(key)
    parts = [
        f'{name}.* ({len(members)})' if len(members) > 1 else members[0]
        for name, members in groups.items()
    ]
    return (f'{len(keys)} keys: ' + ', '.join(parts[:limit]) +
            (', ...' if len(parts) > limit else '') +
            (f' (e.g. {", ".join(keys[:3])})' if examples else ''))


def _matches(key: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(key, p) for p in patterns)


def _pretraining_only(key: str) -> bool:
    return key.split('.')[0] in PRETRAINING_ONLY


def is_pretraining_state(state: Dict[str, torch.Tensor]) -> bool:
    """Whether a state dict is a contrastive pretraining model's (it has a
    key encoder or a queue, at any depth: MSCrosSCLR keeps them per
    stream)."""
    return any(
        name in ('momentum_backbone', 'queue') for key in state
        for name in key.split('.'))


def _count(num: int, what: str) -> str:
    return f'{num} {what}' + ('' if num == 1 else
                              'es' if what.endswith('h') else 's')


# Options that add a submodule (its name anywhere in a key): a checkpoint
# and a model built with and without one differ by exactly those keys, and
# the fix is the option, as the checkpoint's pretraining config set it
OPTION_MODULES = {
    'out_norm': ("the backbone's output BN", 'backbone output BN', 'model.backbone.out_norm')}


def _option_hints(missing: List[str], unexpected: List[str]) -> List[str]:
    """The fix for each :data:`OPTION_MODULES` option that only one side has
    (a probe config must repeat its encoder's)."""
    def has(keys, name):
        return any(key.split('.')[0] == name or f'.{name}.' in key for key in keys)

    hints = []
    for name, (with_it, without, option) in OPTION_MODULES.items():
        if has(unexpected, name) and not has(missing, name):
            hints.append(f'the checkpoint was pretrained with {with_it}: set {option}=True '
                         '(as its pretraining config)')
        elif has(missing, name) and not has(unexpected, name):
            hints.append(f'the checkpoint has no {without}: set {option}=False '
                         '(as its pretraining config)')
    return hints


def load_state_dict_strict(module: torch.nn.Module,
                           state: Dict[str, torch.Tensor],
                           source: str,
                           prefix: Optional[str] = None,
                           exclude: Sequence[str] = (),
                           strict: bool = True,
                           target: Optional[str] = None,
                           hint: str = '',
                           logger='current') -> LoadReport:
    """Load ``state`` into ``module``: every key must match, or fail.

    Args:
        module (nn.Module): Where to load (model wrappers are unwrapped).
        state (dict): The checkpoint's state dict.
        source (str): The checkpoint's name, for messages.
        prefix (str, optional): Load only the keys under this prefix, with
            the prefix removed (``'backbone.'``: a recognizer's encoder);
            the other keys are left out by name.
        exclude (Sequence[str]): ``fnmatch`` patterns of keys (model
            namespace) left at their initial values on purpose: neither
            loaded nor required, on both sides (e.g. ``['cls_head.*']`` for a
            new head).
        strict (bool): Fail on missing, unexpected or mismatched keys.
            With False they are logged as a warning and skipped.
        target (str, optional): The module's name for messages.
        hint (str): Appended to the error message.
        logger: Where the one-line summary goes. Defaults to the current
            logger; ``'silent'`` for none.

    Returns:
        LoadReport: The keys loaded, excluded and dropped.

    Raises:
        CheckpointMismatchError: With ``strict``, listing the missing,
            unexpected and shape-mismatched keys.
    """
    if is_model_wrapper(module):
        module = module.module
    target = target or type(module).__name__
    dropped = []
    if prefix:
        selected = {
            key[len(prefix):]: value
            for key, value in state.items() if key.startswith(prefix)
        }
        dropped = [key for key in state if not key.startswith(prefix)]
        if not selected:
            raise CheckpointMismatchError(
                f'{source}: no key starts with {prefix!r}, so nothing fits '
                f'{target}; the checkpoint holds {describe_keys(state)}' +
                (f'. {hint}' if hint else ''))
    else:
        selected = dict(state)
    # a single BN's entries (reference, paper form) fill per-convention BNs
    from msclr_plugin.models.layers import expand_norm_state_dict
    expand_norm_state_dict(module, selected)
    own = module.state_dict()
    excluded = [key for key in own if _matches(key, exclude)]
    unexpected, mismatched, load = [], [], {}
    for key, value in selected.items():
        if _matches(key, exclude):
            dropped.append((prefix or '') + key)
        elif key not in own:
            if _pretraining_only(key):
                dropped.append((prefix or '') + key)
            else:
                unexpected.append(key)
        elif tuple(value.shape) != tuple(own[key].shape):
            mismatched.append(key)
        else:
            load[key] = value
    missing = [
        key for key in own if key not in selected and key not in excluded
    ]
    if missing or unexpected or mismatched:
        lines = [f'{source} does not fit {target}' +
                 (f' (keys under {prefix!r})' if prefix else '') + ':']
        if missing:
            lines.append(f'  {_count(len(missing), "missing key")}: '
                         f'{describe_keys(missing)}')
        if unexpected:
            lines.append(f'  {_count(len(unexpected), "unexpected key")}: '
                         f'{describe_keys(unexpected)}')
        if mismatched:
            shapes = [
                f'{key} (checkpoint {tuple(selected[key].shape)}, model '
                f'{tuple(own[key].shape)})' for key in sorted(mismatched)
            ]
            lines.append(f'  {_count(len(mismatched), "shape mismatch")}'
                         ': ' + '; '.join(shapes[:12]) +
                         ('; ...' if len(shapes) > 12 else ''))
        lines += ['  ' + h for h in _option_hints(missing, unexpected)]
        if hint:
            lines.append('  ' + hint)
        if strict:
            raise CheckpointMismatchError('\n'.join(lines))
        print_log('\n'.join(lines) + '\n  (strict=False: loading the rest)',
                  logger=logger, level=30)
    module.load_state_dict(load, strict=False)
    summary = (f'{source}: loaded {len(load)}/{len(own)} tensors of {target}'
               + (f' (keys under {prefix!r})' if prefix else ''))
    if dropped:
        summary += ('; left out by name: ' +
                    describe_keys(dropped, limit=6, examples=False))
    if excluded:
        summary += (f'; kept at initial values (exclude): '
                    f'{describe_keys(excluded, limit=6, examples=False)}')
    print_log(summary, logger=logger)
    return LoadReport(
        sorted(load), excluded, dropped, missing, unexpected, mismatched)


def load_checkpoint_strict(module: torch.nn.Module,
                           filename: str,
                           prefix: Optional[str] = None,
                           exclude: Sequence[str] = (),
                           map_location='cpu',
                           target: Optional[str] = None,
                           hint: str = '',
                           logger='current') -> LoadReport:
    """Read ``filename`` (through mmengine's checkpoint loaders, i.e. the
    weights-only reader for local files) and :func:`load_state_dict_strict`
    it into ``module``. ``module.`` prefixes of DataParallel checkpoints are
    removed."""
    from mmengine.runner.checkpoint import CheckpointLoader
    checkpoint = CheckpointLoader.load_checkpoint(
        filename, map_location=map_location, logger='silent')
    state = strip_module_prefix(state_dict_of(checkpoint, filename))
    return load_state_dict_strict(
        module, state, filename, prefix=prefix, exclude=exclude,
        target=target, hint=hint, logger=logger)


def strip_module_prefix(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Remove the ``module.`` that DataParallel wrappers put in keys."""
    return OrderedDict(
        (key[7:] if key.startswith('module.') else key, value)
        for key, value in state.items())
