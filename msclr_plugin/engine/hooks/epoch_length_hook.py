"""Keep the total iteration count, and so the ETA, right when epochs vary."""
from mmengine.hooks import Hook
from mmengine.runner import EpochBasedTrainLoop

from mmaction.registry import HOOKS


@HOOKS.register_module()
class EpochLengthHook(Hook):
    """Re-estimate ``runner.max_iters`` at the start of every epoch.

    mmengine's ``EpochBasedTrainLoop`` fixes ``max_iters`` to ``max_epochs *
    len(dataloader)`` of the first epoch, and the ETA counts down to it. With
    :class:`ConventionGroupedBatchSampler` (without ``mix_leftovers``) the
    number of batches depends on the convention pairs drawn for the epoch,
    so the run can pass that count, and the ETA goes negative (``-1 day,
    23:59:59``). Here it becomes the iterations done plus the current
    epoch's length times the epochs left: exact in the last epoch, within a
    few batches before. Iteration-based loops are left alone.

    Args:
        priority (str): After ``DistSamplerSeedHook`` (``'NORMAL'``), which
            sets the sampler's epoch that the length depends on. Defaults to
            ``'BELOW_NORMAL'``.
    """

    def __init__(self, priority: str = 'BELOW_NORMAL') -> None:
        self.priority = priority

    def before_train_epoch(self, runner) -> None:
        loop = runner.train_loop
        if isinstance(loop, EpochBasedTrainLoop):
            loop._max_iters = runner.iter + len(
                loop.dataloader) * (loop.max_epochs - runner.epoch)
