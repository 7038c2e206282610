"""Training length in optimisation steps instead of epochs.

A config's schedule is written in epochs (``train_cfg.max_epochs``, the
mining start, the lr milestones, the checkpoint and monitor intervals), and
an epoch's length is the dataset's size over the batch: the same epochs on
another store, or with one convention instead of several, are another
number of steps. :func:`set_train_steps` rewrites the schedule of a config
for a step budget: the epochs whose steps come closest to it on the
config's own data, every other epoch-valued setting at the same fraction of
training. ``tools/train.py --steps`` and ``tools/analysis/count_steps.py
--steps`` use it.
"""
import itertools
from typing import Dict, Iterator, List, Optional

from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, set_random_seed

# hooks whose ``interval`` counts epochs
EPOCH_INTERVAL_HOOKS = ('KNNMonitorHook', )


def iter_epoch_steps(cfg: Config, gpus: int = 1) -> Iterator[int]:
    """Steps of epoch 0, 1, 2, ... of ``cfg``'s epoch-based training.

    Builds the train dataloader once (the dataset index only, no model) and
    reads its length for every epoch: fixed with
    ``ConventionGroupedBatchSampler(mix_leftovers=True)`` or no batch
    sampler; otherwise each epoch's count depends on the convention pairs
    drawn, here for the config's seed.

    Args:
        cfg (Config): A training config.
        gpus (int): Processes; the global batch is ``gpus`` times the
            config's ``batch_size``. Defaults to 1.
    """
    init_default_scope(cfg.get('default_scope', 'mmaction'))
    seed = (cfg.get('randomness') or {}).get('seed')
    if seed is not None:
        set_random_seed(seed)
    loader_cfg = cfg.train_dataloader.copy()
    loader_cfg.batch_size = loader_cfg.batch_size * gpus
    loader_cfg.num_workers = 0
    loader_cfg.persistent_workers = False
    loader = Runner.build_dataloader(loader_cfg, seed=seed)
    sampler = loader.batch_sampler if hasattr(
        loader.batch_sampler, 'set_epoch') else loader.sampler
    for epoch in itertools.count():
        sampler.set_epoch(epoch)
        yield len(loader)


def epoch_steps(cfg: Config, gpus: int = 1,
                epochs: Optional[int] = None) -> List[int]:
    """Steps of every epoch (:func:`iter_epoch_steps`) of ``epochs``,
    by default ``train_cfg.max_epochs``."""
    epochs = cfg.train_cfg.max_epochs if epochs is None else epochs
    return list(itertools.islice(iter_epoch_steps(cfg, gpus), epochs))


def epochs_for_steps(cfg: Config, steps: int, gpus: int = 1) -> List[int]:
    """The steps of each epoch of the run whose total is closest to
    ``steps`` (at least one epoch; the shorter run on a tie)."""
    if steps < 1:
        raise ValueError(f'steps must be positive, got {steps}')
    counts, total = [], 0
    for count in iter_epoch_steps(cfg, gpus):
        if count < 1:
            raise ValueError(
                f'{cfg.filename}: an epoch has no step (batch '
                f'{cfg.train_dataloader.batch_size} x {gpus} with drop_last '
                'on a smaller dataset)')
        if counts and abs(total + count - steps) >= abs(total - steps):
            return counts
        counts.append(count)
        total += count
        if total >= steps:
            return counts


def _scale(value: int, ratio: float, low: int, high: int) -> int:
    return int(min(high, max(low, round(value * ratio))))


def set_train_steps(cfg: Config, steps: int, gpus: int = 1) -> Dict:
    """Rewrite ``cfg``'s epoch-based schedule for about ``steps`` steps.

    ``train_cfg.max_epochs`` becomes the number of epochs whose steps on
    the config's data come closest to ``steps`` (:func:`epochs_for_steps`);
    the model's ``mining_epoch``, epoch-based ``param_scheduler`` entries
    (``milestones``, ``begin``, ``end``, ``T_max``), the checkpoint interval,
    ``train_cfg.val_begin``/``val_interval`` and the intervals of
    epoch-counting monitors (:data:`EPOCH_INTERVAL_HOOKS`) keep their
    fraction of training (an interval that covered all of training still
    does). Iteration-based settings are left alone.

    Args:
        cfg (Config): A training config with an epoch-based loop; changed
            in place.
        steps (int): The step budget (global batches).
        gpus (int): Processes (one global batch of ``gpus x batch_size``
            per step). Defaults to 1.

    Returns:
        dict: ``steps`` (the total obtained), ``per_epoch`` (list),
        ``settings`` (``{config key: new value}``, as ``--cfg-options``
        would set them).
    """
    old = cfg.train_cfg.get('max_epochs')
    if old is None:
        raise ValueError(f'{cfg.filename}: --steps needs an epoch-based '
                         'train_cfg (max_epochs)')
    counts = epochs_for_steps(cfg, steps, gpus)
    epochs = len(counts)
    ratio = epochs / old
    settings = {'train_cfg.max_epochs': epochs}
    model = cfg.get('model') or {}
    if 'mining_epoch' in model:
        settings['model.mining_epoch'] = _scale(model.mining_epoch, ratio, 0,
                                                epochs)
    for i, sched in enumerate(cfg.get('param_scheduler') or []):
        if not sched.get('by_epoch', True):
            continue
        for key in ('milestones', 'begin', 'end', 'T_max'):
            value = sched.get(key)
            if isinstance(value, (list, tuple)):
                settings[f'param_scheduler.{i}.{key}'] = [
                    _scale(v, ratio, 1, epochs) for v in value]
            elif isinstance(value, int) and value < old:
                # an end scaled to epoch 0 would leave the scheduler no step
                settings[f'param_scheduler.{i}.{key}'] = _scale(
                    value, ratio, int(key == 'end'), epochs)
            elif isinstance(value, int):
                settings[f'param_scheduler.{i}.{key}'] = epochs
    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    if checkpoint.get('by_epoch', True) and 'interval' in checkpoint:
        settings['default_hooks.checkpoint.interval'] = _interval(
            checkpoint.interval, old, ratio, epochs)
    for key in ('val_begin', 'val_interval'):
        value = cfg.train_cfg.get(key)
        if isinstance(value, int) and value > 0:
            settings[f'train_cfg.{key}'] = _interval(value, old, ratio, epochs)
    for i, hook in enumerate(cfg.get('custom_hooks') or []):
        if hook.get('type') in EPOCH_INTERVAL_HOOKS and 'interval' in hook:
            settings[f'custom_hooks.{i}.interval'] = _interval(
                hook.interval, old, ratio, epochs)
    cfg.merge_from_dict(settings)  # list positions too (param_scheduler.0)
    return dict(steps=sum(counts), per_epoch=counts, settings=settings)


def _interval(value: int, old: int, ratio: float, epochs: int) -> int:
    return epochs if value >= old else _scale(value, ratio, 1, epochs)


def settings_options(settings: Dict) -> List[str]:
    """``key=value`` arguments of ``--cfg-options``, one a setting."""
    return [f'{k}={v!r}'.replace(' ', '') if isinstance(v, list) else
            f'{k}={v}' for k, v in settings.items()]


def format_settings(settings: Dict) -> str:
    """``key=value`` pairs for ``--cfg-options``."""
    return ' '.join(settings_options(settings))
