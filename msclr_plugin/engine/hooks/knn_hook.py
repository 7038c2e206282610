"""Monitor representation quality during pretraining with a kNN classifier."""
import copy
from typing import Optional, Tuple

import torch
from mmengine.dist import broadcast_object_list, collect_results, get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmaction.registry import HOOKS
from msclr_plugin.evaluation.knn import extract_features, knn_classify


@HOOKS.register_module()
class KNNMonitorHook(Hook):
    """Log the kNN top-1 of the frozen encoder every ``interval`` epochs.

    Features of a labelled "train" (memory bank) and "val" (query) dataloader
    are extracted with the model's backbone (pooled over time, real joints and
    persons; see :func:`msclr_plugin.evaluation.knn.extract_features`), then
    classified with :func:`knn_classify`. The result goes to the message hub
    as ``knn/top1``, to the visualisation backends (``scalars.json``, TensorBoard) and to
    the log. Without dataloader configs the hook only warns: training is
    never interrupted by it.

    The hook follows the training data: what its dataloaders' ``dataset``
    configs leave unset is taken from the training dataset (a
    :class:`MultiSkeletonDataset`), so overriding the training store and
    conventions re-targets the monitor too:

    - ``type``: ``'MultiSkeletonDataset'``;
    - ``ann_file``: the training dataset's store;
    - ``conventions`` and ``mode``: its reference convention (the first of
      its conventions unless it sets ``reference``);
    - ``split``: the bank takes the training split, the queries the split
      named like it with ``train`` replaced by ``val`` (``xsub_train`` ->
      ``xsub_val``).

    Data that cannot be found (no store, no such split or convention) fails
    before the first step with the hook, the dataloader, each key's value
    and where it came from, and the key to set.

    Args:
        train_dataloader (dict, optional): Dataloader config of the memory
            bank (labelled items of ``MultiSkeletonDataset``-style, one or
            several views; use ``shuffle=False``).
        val_dataloader (dict, optional): Dataloader config of the queries.
        interval (int): Epochs between evaluations. Defaults to 10.
        k (int): Neighbours. Defaults to 20.
        temperature (float): Vote temperature. Defaults to 0.07.
        view (str, optional): Only embed this view of each item.
        priority (str): Hook priority. Defaults to ``'LOW'``.
    """
    priority = 'LOW'

    def __init__(self,
                 train_dataloader: Optional[dict] = None,
                 val_dataloader: Optional[dict] = None,
                 interval: int = 10,
                 k: int = 20,
                 temperature: float = 0.07,
                 view: Optional[str] = None) -> None:
        self.train_cfg = train_dataloader
        self.val_cfg = val_dataloader
        self.interval = interval
        self.k = k
        self.temperature = temperature
        self.view = view
        self._loaders = None

    def before_train(self, runner) -> None:
        """Build the dataloaders once (or warn and stay idle)."""
        if self.train_cfg is None or self.val_cfg is None:
            runner.logger.warning(
                'KNNMonitorHook: train_dataloader and val_dataloader configs '
                'are both needed; kNN monitoring is disabled')
            return
        seed = runner.seed if hasattr(runner, 'seed') else None
        train_set = getattr(runner.train_dataloader, 'dataset', None)
        self._loaders = tuple(
            self._build(runner, name, cfg, train_set, seed)
            for name, cfg in (('train_dataloader', self.train_cfg),
                              ('val_dataloader', self.val_cfg)))

    def _build(self, runner, name: str, cfg: dict, train_set, seed):
        cfg, origin = follow_training_data(cfg, train_set, name)
        dataset = cfg['dataset']
        try:
            return runner.build_dataloader(cfg, seed=seed)
        except (OSError, ValueError, KeyError) as err:
            keys = ', '.join(
                f'{k}={dataset.get(k)!r} ({origin.get(k, "set in the hook")})'
                for k in ('ann_file', 'split', 'conventions', 'mode'))
            raise type(err)(
                f'KNNMonitorHook cannot build its {name} ({keys}): {err}. Set '
                f'{name}.dataset.ann_file / split / conventions of the '
                "KNNMonitorHook entry in custom_hooks, or leave them unset to "
                'follow train_dataloader.dataset') from err

    def after_train_epoch(self, runner) -> None:
        """Evaluate every ``interval`` epochs (and after the last one)."""
        if self._loaders is None or not (self.every_n_epochs(
                runner, self.interval) or self.is_last_train_epoch(runner)):
            return
        top1 = self.evaluate(runner.model)
        if top1 is None:
            return
        runner.message_hub.update_scalar('knn/top1', top1)
        # the logger only forwards train/ and val/ scalars to the backends;
        # by iteration, like the training losses it is plotted with
        runner.visualizer.add_scalars(
            {'knn/top1': top1, 'epoch': runner.epoch + 1, 'iter': runner.iter},
            step=runner.iter)
        runner.logger.info(
            f'Epoch {runner.epoch + 1}: kNN (k={self.k}, '
            f'T={self.temperature}) top-1 {100 * top1:.2f}')

    def evaluate(self, model) -> Optional[float]:
        """kNN top-1 of ``model`` on the hook's dataloaders (all ranks get
        it; features are gathered from every rank)."""
        if is_model_wrapper(model):
            model = model.module
        results = []
        for loader in self._loaders:
            feats, labels = extract_features(model, loader, self.view)
            # Each rank holds its sampler's shard; collect in dataset order.
            gathered = collect_results(
                list(zip(feats, labels)), len(loader.dataset))
            results.append(gathered)
        rank, world = get_dist_info()
        top1 = [None]
        if rank == 0:
            (train, val) = results
            train_feats = torch.stack([f for f, _ in train])
            val_feats = torch.stack([f for f, _ in val])
            train_labels = torch.stack([label for _, label in train])
            val_labels = torch.stack([label for _, label in val])
            _, top1[0] = knn_classify(
                train_feats,
                train_labels,
                val_feats,
                k=self.k,
                temperature=self.temperature,
                test_labels=val_labels)
        if world > 1:
            broadcast_object_list(top1)
        return top1[0]



def _innermost(dataset):
    """The dataset holding the data under mmengine's wrappers."""
    while dataset is not None and not hasattr(dataset, 'ann_file') and \
            hasattr(dataset, 'dataset'):
        dataset = dataset.dataset
    return dataset


def follow_training_data(loader_cfg: dict, train_set,
                         name: str) -> Tuple[dict, dict]:
    """Fill a monitoring dataloader's unset dataset keys from the training
    dataset (see :class:`KNNMonitorHook`).

    Args:
        loader_cfg (dict): The hook's dataloader config.
        train_set: The runner's training dataset (possibly wrapped).
        name (str): ``'train_dataloader'`` (the bank: the training split)
            or ``'val_dataloader'`` (the queries: its ``val`` split).

    Returns:
        tuple: The completed config (a copy) and ``{key: where its value
        came from}`` for the keys filled in.

    Raises:
        ValueError: A key is unset and the training dataset cannot give it;
            the message names the key to set.
    """
    cfg = copy.deepcopy(dict(loader_cfg))
    dataset = dict(cfg.get('dataset') or {})
    source = _innermost(train_set)
    origin = {}

    def take(key, value, where):
        if dataset.get(key) is None:
            if value is None:
                raise ValueError(
                    f'KNNMonitorHook: its {name}.dataset.{key} is unset and '
                    f'the training dataset ({type(source).__name__}) gives '
                    f'none ({where}); set it in the KNNMonitorHook entry of '
                    'custom_hooks')
            dataset[key] = value
            origin[key] = where

    take('type', 'MultiSkeletonDataset', 'default')
    take('ann_file', getattr(source, 'ann_file', None),
         'train_dataloader.dataset.ann_file')
    reference = getattr(source, 'reference', None)
    take('conventions', None if reference is None else [reference],
         'the reference convention of train_dataloader.dataset')
    first = dataset['conventions'][0]
    take('mode', first['name'] if isinstance(first, dict) else first,
         origin.get('conventions', 'the first of its conventions'))
    split = getattr(source, 'split', None)
    if name == 'train_dataloader':
        if split is not None:  # else all clips, as the training reads
            take('split', split, 'train_dataloader.dataset.split')
    elif dataset.get('split') is None:
        if split is None or 'train' not in split:
            take('split', None, f'the training split {split!r} has no "train" '
                 'to replace by "val"')
        take('split', 'val'.join(split.rsplit('train', 1)),
             f'train_dataloader.dataset.split {split!r} with train -> val')
    cfg['dataset'] = dataset
    return cfg, origin
