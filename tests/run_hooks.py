"""Hooks that test configs import (``custom_imports``) into tools/train.py
runs launched as subprocesses: a real ``kill -9`` at a chosen iteration, and
a dump of every rank's state."""
import os
import signal

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmaction.registry import HOOKS


@HOOKS.register_module(force=True)
class SelfKillHook(Hook):
    """SIGKILL this process (not a Python exception: no clean-up at all)
    once training iteration ``at_iter`` (1-based, global) is done."""

    priority = 'LOWEST'

    def __init__(self, at_iter: int) -> None:
        self.at_iter = at_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.at_iter:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module(force=True)
class DumpRankStateHook(Hook):
    """Save this rank's model state dict, optimizer state, the iterations
    run and the convention pairs it trained on to
    ``<work_dir>/rank<r>.pth`` after training."""

    priority = 'LOWEST'

    def __init__(self) -> None:
        self.pairs = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        samples = data_batch['data_samples']
        self.pairs.append(sorted({(s.metainfo['skeletons']['query'],
                                   s.metainfo['skeletons']['key'])
                                  for s in samples}))

    def after_train(self, runner):
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        torch.save(
            dict(state_dict=model.state_dict(),
                 optimizer=runner.optim_wrapper.state_dict(),
                 iters=runner.iter,
                 pairs=self.pairs),
            os.path.join(runner.work_dir, f'rank{get_rank()}.pth'))


@HOOKS.register_module(force=True)
class RaiseOnRankHook(Hook):
    """Raise a RuntimeError on rank ``rank`` once training iteration
    ``at_iter`` (1-based, global) is done: a rank failing mid-run."""

    def __init__(self, rank: int, at_iter: int) -> None:
        self.rank, self.at_iter = rank, at_iter

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if get_rank() == self.rank and runner.iter + 1 == self.at_iter:
            raise RuntimeError(f'raised on rank {self.rank} at iteration '
                               f'{self.at_iter}')
