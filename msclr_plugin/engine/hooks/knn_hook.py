"""Monitor representation quality during pretraining with a kNN classifier."""
from typing import Optional

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
        self._loaders = (runner.build_dataloader(self.train_cfg, seed=seed),
                         runner.build_dataloader(self.val_cfg, seed=seed))

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

