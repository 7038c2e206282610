"""The stack fixes: mmaction.models imports (also beside transformers 5),
and checkpoints (train, save, resume, load_from) work with weights_only=True
loading."""
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

from tests.conftest import repo_env


def test_mmaction_models_import():
    import mmaction.models  # noqa: F401  (fails without the drn stub)
    from mmaction.models.localizers.drn.drn import DRN
    with pytest.raises(ImportError, match='mmaction2#2714'):
        DRN()


@pytest.mark.parametrize('fixed', [True, False])
def test_mmaction_models_import_beside_transformers_5(tmp_path, fixed):
    # a stand-in transformers 5: its modeling_utils lacks the
    # apply_chunking_to_forward that mmaction2 1.2.0's VindLU imports (the
    # GPU machine's image has transformers 5.17)
    package = tmp_path / 'transformers'
    package.mkdir()
    (package / '__init__.py').write_text('')
    (package / 'modeling_utils.py').write_text('')
    info = tmp_path / 'transformers-5.17.0.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text(
        'Metadata-Version: 2.1\nName: transformers\nVersion: 5.17.0\n')
    # without the fix mmaction would import VindLU (and fail on the GPU image)
    flag = ('import mmaction.utils.dependency as d; '
            'print("multimodal", d.WITH_MULTIMODAL)')
    code = (f'import msclr_plugin, mmaction.models, pytest; {flag}\n'
            'from mmaction.registry import MODELS\n'
            "with pytest.raises(ImportError, match='multi-modal'):\n"
            "    MODELS.build(dict(type='VindLURetrieval'))") if fixed else flag
    env = repo_env()
    env['PYTHONPATH'] = f'{tmp_path}:{env["PYTHONPATH"]}'
    out = subprocess.run([sys.executable, '-c', code], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert f'multimodal {not fixed}' in out.stdout


class _Toy(BaseModel):

    def __init__(self):
        super().__init__()
        from msclr_plugin.models import MSSTGCN
        self.backbone = MSSTGCN(
            graph_cfg=dict(type='MultiSkeletonGraph', layouts=['coco']),
            channels=(4, 8),
            num_stages=2,
            down_stages=())
        self.fc = torch.nn.Linear(8, 3)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = torch.stack(inputs) if isinstance(inputs, list) else inputs
        logits = self.fc(self.backbone(x).mean(dim=(1, 3, 4)))
        if mode == 'loss':
            labels = torch.stack(data_samples) if isinstance(
                data_samples, list) else data_samples
            return dict(loss=torch.nn.functional.cross_entropy(
                logits, labels))
        return logits


class _Data(Dataset):

    def __len__(self):
        return 8

    def __getitem__(self, idx):
        g = torch.Generator().manual_seed(idx)
        return dict(
            inputs=torch.randn(1, 6, 17, 3, generator=g),
            data_samples=torch.tensor(idx % 3))


def _runner(work_dir, max_epochs, **kwargs):
    torch.manual_seed(0)
    return Runner(
        model=_Toy(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=_Data(),
            batch_size=4,
            sampler=dict(type='DefaultSampler', shuffle=True)),
        optim_wrapper=dict(
            optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        randomness=dict(seed=0),
        **kwargs)


def test_train_save_resume_and_load_from(tmp_path):
    straight = _runner(tmp_path / 'a', 2)
    straight.train()
    ckpt = tmp_path / 'a' / 'epoch_2.pth'
    state = torch.load(ckpt, weights_only=True)  # plain data only
    assert set(state) >= {'state_dict', 'message_hub', 'optimizer', 'meta'}

    first = _runner(tmp_path / 'b', 1)
    first.train()
    resumed = _runner(tmp_path / 'b', 2, resume=True)
    resumed.train()
    assert resumed.train_loop.epoch == 2
    a = straight.model.state_dict()
    b = resumed.model.state_dict()
    for key in a:
        torch.testing.assert_close(a[key], b[key], msg=key)
    # the log history survived the round trip as a HistoryBuffer
    hub = torch.load(tmp_path / 'b' / 'epoch_2.pth',
                     weights_only=True)['message_hub']
    assert len(hub['log_scalars']['train/loss'].data[0]) > 0

    loaded = _runner(tmp_path / 'c', 1, load_from=str(ckpt))
    loaded.load_or_resume()
    for key, value in loaded.model.state_dict().items():
        torch.testing.assert_close(value, a[key], msg=key)


class _Unsafe:
    pass


def test_foreign_pickle_is_refused_with_a_clear_error(tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    path = tmp_path / 'foreign.pth'
    torch.save({'state_dict': {}, 'meta': {'obj': _Unsafe(),
                                           'arr': np.zeros(3)}}, path)
    with pytest.raises(RuntimeError, match='weights_only=True') as err:
        _load_checkpoint(str(path))
    assert 'foreign.pth' in str(err.value)
    assert '_Unsafe' in str(err.value)
    assert not isinstance(err.value.__cause__, type(None))
    assert isinstance(err.value.__cause__, pickle.UnpicklingError)
