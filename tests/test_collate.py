"""multi_skeleton_collate: the batches of pseudo_collate, in a few tensors."""
import pytest
import torch
from mmengine.runner import Runner

from msclr_plugin.datasets.collate import batch_labels
from msclr_plugin.models import MultiSkeletonDataPreprocessor
from .test_dataset import _loader_cfg, make_store


@pytest.mark.parametrize('grouped', [True, False])
def test_collate_gives_what_pseudo_collate_gives(tmp_path, grouped):
    """Through 2 workers and the data preprocessor: the same inputs, labels
    and metainfo; grouped views arrive stacked, mixed ones as lists."""
    store = make_store(tmp_path / 'store', num_clips=12)
    runs, labels = [], []
    for collate in ('pseudo_collate', 'multi_skeleton_collate'):
        cfg = _loader_cfg(store, num_workers=2)
        cfg['collate_fn'] = dict(type=collate)
        if not grouped:
            del cfg['batch_sampler']  # batches mix 20, 24 and 25 joints
        loader = Runner.build_dataloader(cfg)
        batches = list(loader)
        if collate == 'multi_skeleton_collate':
            for batch in batches:
                assert grouped == all(
                    isinstance(x, torch.Tensor)
                    for x in batch['inputs'].values())
                assert batch['gt_labels'].shape == (len(
                    batch['data_samples']), 1)
                assert all('gt_label' not in s for s in batch['data_samples'])
        labels.append([batch_labels(b) for b in batches])
        runs.append([MultiSkeletonDataPreprocessor()(b) for b in batches])
    assert len(runs[0]) == len(runs[1]) > 1
    # what a reader without the data preprocessor (the raw-joints control) sees
    assert labels[0] == labels[1]
    assert labels[0] == [[int(s.gt_label) for s in r['data_samples']] for r in runs[0]]
    for plain, fast in zip(*runs):
        assert plain['inputs'].keys() == fast['inputs'].keys()
        for view, x in plain['inputs'].items():
            assert torch.equal(x, fast['inputs'][view]), view
        assert len(plain['data_samples']) == len(fast['data_samples'])
        for a, b in zip(plain['data_samples'], fast['data_samples']):
            assert a.metainfo == b.metainfo
            assert torch.equal(a.gt_label, b.gt_label)
