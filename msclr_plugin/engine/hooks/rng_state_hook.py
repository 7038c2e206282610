"""Carry the random number generators through checkpoints and validation."""
import random
from typing import List, Optional, Union

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_dist_info
from mmengine.hooks import Hook

from mmaction.registry import HOOKS


def get_rng_state() -> dict:
    """The Python, NumPy, torch (and CUDA, once initialised) generator
    states as plain lists and tensors, loadable with ``weights_only=True``."""
    name, keys, pos, has_gauss, gauss = np.random.get_state()
    version, internal, gauss_next = random.getstate()
    state = dict(
        python=[version, list(internal), gauss_next],
        numpy=[name, keys.tolist(), pos, has_gauss, gauss],
        torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    """Inverse of :func:`get_rng_state`."""
    version, internal, gauss_next = state['python']
    random.setstate((version, tuple(internal), gauss_next))
    name, keys, pos, has_gauss, gauss = state['numpy']
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Make kill-and-resume exact and validation free of side effects.

    mmengine's checkpoints hold weights, optimiser, schedulers and the message
    hub but not the random generators, so a resumed run re-seeds and its
    dropout masks, shuffle-BN permutations and dataloader worker seeds differ
    from the uninterrupted run. This hook stores every rank's generator
    states in the checkpoint (``checkpoint['rng_state']``, one entry per
    rank) and restores them when training starts from it. It also restores
    the states after each validation inside training, so that validating (or
    not) leaves the training's random stream unchanged: a resumed run, which
    does not repeat the validation of its checkpoint's epoch, then stays on
    the same stream. Data augmentation is seeded per item
    (:class:`MSMultiView`) and needs none of this.

    The states are those at the end of the checkpoint's epoch, where the
    uninterrupted run goes on with the next epoch. Its first draw there may
    be the dataloader's: a new iterator takes its workers' base seed from
    the global torch generator, which a loader with persistent workers does
    once (first epoch) and any other loader every epoch. So the states are
    restored before the resumed run's first epoch starts, or, with
    persistent workers (whose iterator the resumed run creates anew), right
    after that iterator is created, at the first iteration.

    In several processes ``save_checkpoint`` runs on rank 0 only, so the
    ranks' states are gathered at the end of each epoch (where this plugin's
    configs save): an iteration-based checkpoint of a multi-process run
    holds no states (warned), and resuming from it re-seeds as mmengine does.

    Args:
        priority (int or str): Hook priority. Defaults to 80: after the
            epoch-end hooks that still draw random numbers (e.g.
            :class:`KNNMonitorHook`, ``'LOW'``), before ``CheckpointHook``
            (``'VERY_LOW'``).
    """

    def __init__(self, priority: Union[int, str] = 80) -> None:
        self.priority = priority
        self._loaded: Optional[List[dict]] = None
        self._pending: Optional[dict] = None
        self._before_val: Optional[dict] = None
        self._epoch_states: Optional[List[dict]] = None
        self._epoch_iter = -1

    def after_train_epoch(self, runner) -> None:
        self._epoch_states = all_gather_object(get_rng_state())
        self._epoch_iter = runner.iter

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if get_dist_info()[1] == 1:
            checkpoint['rng_state'] = [get_rng_state()]
        elif self._epoch_iter == runner.iter:
            checkpoint['rng_state'] = self._epoch_states
        else:
            runner.logger.warning(
                'RNGStateHook: a checkpoint saved within an epoch of a '
                'multi-process run holds no generator states')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # applied at before_train: loading happens before the model is
        # initialised and wrapped, which may still draw random numbers
        self._loaded = checkpoint.get('rng_state')

    def before_train(self, runner) -> None:
        states, self._loaded = self._loaded, None
        # iter 0: weights loaded with load_from, not a resumed run
        if states is None or runner.iter == 0:
            return
        rank, world_size = get_dist_info()
        if len(states) != world_size:
            runner.logger.warning(
                f'RNGStateHook: the checkpoint holds the generators of '
                f'{len(states)} ranks, this run has {world_size}; they are not '
                'restored and the resumed run is not bit-exact')
            return
        loader = runner.train_dataloader
        if loader.num_workers > 0 and loader.persistent_workers:
            self._pending = states[rank]
        else:
            set_rng_state(states[rank])

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self._pending is not None:
            set_rng_state(self._pending)
            self._pending = None

    def before_val(self, runner) -> None:
        self._before_val = get_rng_state()

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            set_rng_state(self._before_val)
            self._before_val = None
