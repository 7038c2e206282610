"""Same seed, same machine, same digits (issue 21): extra logging leaves the
trajectory alone, and the CPU configs pin the thread count the digits
depend on."""
import pytest
import torch

from .conftest import ROOT, load_tool

PRETRAIN = ROOT / 'configs/msclr/demo/ms_aimclr_synthetic.py'
# a small encoder, two dataloader workers, mining from the second epoch
SMALL = ['model.backbone.channels=(4,4,8,8)', 'model.backbone.num_stages=4',
         'model.backbone.down_stages=(3,)', 'model.neck.in_channels=8',
         'model.neck.hid_channels=8', 'train_dataloader.batch_size=4',
         'train_cfg.max_epochs=2', 'model.mining_epoch=1',
         'default_hooks.checkpoint.interval=2']
LOUD = """_base_ = '{base}'
knn_data = dict(
    type='MultiSkeletonDataset', ann_file='{store}', conventions=['kinectv2_25'],
    mode='kinectv2_25',
    pipeline=[dict(type='MSMultiView', common={{{{_base_.cpu_prepare}}}}, default=[]),
              dict(type='PackMultiSkeletonInputs')])
knn_loader = dict(batch_size=4, num_workers=1,
                  sampler=dict(type='DefaultSampler', shuffle=False))
custom_hooks = [
    dict(type='RNGStateHook'), dict(type='LabelRangeHook'),
    dict(type='KNNMonitorHook', interval=1, k=3,
         train_dataloader=dict(knn_loader, dataset=dict(knn_data, split='xsub_train')),
         val_dataloader=dict(knn_loader, dataset=dict(knn_data, split='xsub_val',
                                                      test_mode=True)))]
default_hooks = dict(logger=dict(interval=1))
"""


@pytest.fixture
def threads():
    """Two intra-op threads before the runs (the configs must pin one),
    restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_extra_logging_gives_identical_weights(tmp_path, threads):
    """A kNN monitor every epoch (it runs the encoder and dataloaders, which
    draw from the global generator) and a log line every step: the weights
    are bit for bit those of the plain run."""
    from msclr_plugin.data_prep.synthetic import generate_synthetic_store
    store = tmp_path / 'syn'
    generate_synthetic_store(str(store), num_clips_per_class_per_subject=1,
                             conventions=('kinectv2_25', 'coco'), num_subjects=4,
                             num_person=1, classes=['wave_right_hand', 'squat', 'jump'])
    loud = tmp_path / 'loud.py'
    loud.write_text(LOUD.format(base=PRETRAIN, store=store))
    train = load_tool('train')
    weights = []
    for name, cfg in (('plain', PRETRAIN), ('loud', loud)):
        work = tmp_path / name
        train.main([str(cfg), '--work-dir', str(work), '--seed', '0', '--cfg-options',
                    *SMALL, f'train_dataloader.dataset.ann_file={store}'])
        weights.append(torch.load(work / 'epoch_2.pth', weights_only=False)['state_dict'])
        # the config's one intra-op thread was applied
        assert torch.get_num_threads() == 1
    log = next((tmp_path / 'loud').glob('*/*.log')).read_text()
    assert 'kNN (k=3, T=0.07) top-1' in log  # the monitor did run
    plain, loud_run = weights
    assert plain.keys() == loud_run.keys()
    changed = [k for k in plain if not torch.equal(plain[k], loud_run[k])]
    assert not changed, f'extra logging changed {changed[:5]}'
    # and training did change the encoder
    init = tmp_path / 'init'
    train.main([str(PRETRAIN), '--work-dir', str(init), '--seed', '0', '--init-only',
                '--cfg-options', *SMALL])
    start = torch.load(init / 'epoch_0.pth', weights_only=True)['state_dict']
    key = 'backbone.gcn.1.tcn.conv.weight'
    assert not torch.equal(start[key], plain[key])


def test_preloaded_commands_give_a_fresh_interpreters_digits(tmp_path):
    """The tools (``JobRunner(preload=True)``, the default of the main job,
    compare_methods and real_results) fork each command from a server that
    imported torch/mmengine/mmaction once: the pretraining (two dataloader
    workers, mining) and the probe give the weights and numbers of the
    same command in a fresh interpreter, bit for bit."""
    import json
    import sys

    from msclr_plugin.data_prep.synthetic import generate_synthetic_store
    from msclr_plugin.utils.jobs import JobRunner
    store = tmp_path / 'syn'
    generate_synthetic_store(str(store), num_clips_per_class_per_subject=1,
                             conventions=('kinectv2_25', 'coco'), num_subjects=4,
                             num_person=1, classes=['wave_right_hand', 'squat', 'jump'])
    probe = ['model.backbone.channels=(4,4,8,8)', 'model.backbone.num_stages=4',
             'model.backbone.down_stages=(3,)', 'model.cls_head.num_classes=3',
             'model.cls_head.in_channels=8', 'train_cfg.max_epochs=2',
             *(f'{loader}.{key}' for loader in ('train_dataloader', 'test_dataloader')
               for key in (f'dataset.ann_file={store}', 'batch_size=4'))]
    runs = {}
    for preload in (False, True):
        work = tmp_path / f'preload{int(preload)}'
        jobs = JobRunner('t', threads=1, preload=preload)
        jobs.run([sys.executable, 'tools/train.py', str(PRETRAIN), '--work-dir', str(work),
                  '--seed', '0', '--cfg-options', *SMALL,
                  f'train_dataloader.dataset.ann_file={store}'], str(tmp_path / 'train.log'))
        jobs.run([sys.executable, 'tools/probe_eval.py',
                  str(ROOT / 'configs/msclr/demo/linear_ms_aimclr_synthetic.py'),
                  str(work / 'epoch_2.pth'), '--seed', '0', '--out', str(work / 'probe.json'),
                  '--cfg-options', *probe], str(tmp_path / 'probe.log'))
        result = json.loads((work / 'probe.json').read_text())
        result.pop('checkpoint'), result.pop('seconds')
        runs[preload] = (torch.load(work / 'epoch_2.pth', weights_only=False)['state_dict'],
                         result)
    (fresh, fresh_probe), (forked, forked_probe) = runs[False], runs[True]
    assert fresh.keys() == forked.keys()
    assert all(torch.equal(fresh[k], forked[k]) for k in fresh)
    assert forked_probe == fresh_probe
