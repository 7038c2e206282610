"""Every config loads, builds its model and its pipelines; the NTU
pretraining config runs a few iterations on NTU-shaped synthetic data."""
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import Compose

from mmaction.registry import MODELS

from .conftest import ROOT

CONFIGS = sorted(
    str(p.relative_to(ROOT)) for p in (ROOT / 'configs' / 'msclr').rglob('*.py'))


def test_config_inventory():
    names = {Path(c).name for c in CONFIGS}
    for required in ('ms_aimclr_ntu60_xsub.py', 'ms_aimclr_ntu60_xview.py',
                     'ms_aimclr_ntu120_xsub.py', 'ms_aimclr_ntu120_xset.py',
                     'aimclr_msr3d_xsub.py', 'ms_aimclr_msr3d_xsub.py',
                     'aimclr_bandai.py', 'ms_aimclr_bandai.py'):
        assert required in names


@pytest.mark.parametrize('path', CONFIGS)
def test_config_builds(path):
    cfg = Config.fromfile(str(ROOT / path))
    assert cfg.custom_imports['imports'] == ['msclr_plugin']
    model_cfg = cfg.model.copy()
    if 'queue_len' in model_cfg:
        model_cfg['queue_len'] = 256  # tiny override: the queue's size only
    model = MODELS.build(model_cfg)
    convs = model.backbone.graph.names
    assert convs == list(cfg.model.backbone.graph_cfg.layouts)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if key in cfg:
            dataset = cfg[key]['dataset']
            Compose(dataset['pipeline'])
            assert set(dataset.get('conventions') or convs) >= set(convs) or \
                dataset.get('mode') in convs


def _ntu_shaped_store(root, num_clips=8):
    from msclr_plugin.datasets.store import SkeletonStoreWriter
    rng = np.random.default_rng(0)
    with SkeletonStoreWriter(str(root), {
            'kinectv2_25': 'kinectv2_25',
            'smplx_42': dict(layout='smplx_42', scale=0.001)
    }) as writer:
        for i in range(num_clips):
            writer.add(f'S001C001P00{i}R001A00{i % 3 + 1}', i % 3, {
                'kinectv2_25': rng.normal(size=(2, 50, 25, 3)),
                'smplx_42': rng.normal(size=(2, 50, 42, 3)) * 1000,
            })
        writer.set_splits({'xsub_train': list(range(num_clips)),
                           'xsub_val': list(range(num_clips))})


def test_ntu_config_runs_on_ntu_shaped_data(tmp_path):
    from mmengine.runner import Runner
    _ntu_shaped_store(tmp_path / 'store')
    cfg = Config.fromfile(
        str(ROOT / 'configs/msclr/ms_aimclr_ntu60_xsub.py'))
    cfg.merge_from_dict({
        'work_dir': str(tmp_path / 'work'),
        'model.queue_len': 64,
        'train_dataloader.batch_size': 4,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_dataloader.dataset.ann_file': str(tmp_path / 'store'),
        'train_cfg.max_epochs': 1,
        'default_hooks.logger.interval': 1,
    })
    runner = Runner.from_cfg(cfg)
    runner.train()
    # 8 clips x 2 conventions, batches of one convention pair each
    assert runner.iter >= 3
    assert int(runner.model.queue_ptr) == (4 * runner.iter) % 64
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
