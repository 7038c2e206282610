"""tools/infer.py: a probe trained for a few steps on the real MSR Action3D
store (Kinect v1 + derived COCO) labels store clips, array files in another
layout and the real NTU sample video (MediaPipe), naming the store's
classes; the same skeletons give the same scores by every path."""
import importlib.util
import json

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from msclr_plugin.apis import SkeletonLabeller
from msclr_plugin.data_prep.msr3d import CLASSES, convert_msr3d
from msclr_plugin.datasets.store import SkeletonStore
from msclr_plugin.utils.jobs import save_initial_checkpoint

from .conftest import ROOT, load_tool

LINEAR = str(ROOT / 'configs/msclr/linear/linear_ms_aimclr_msr3d_xsub.py')
PRETRAIN = str(ROOT / 'configs/msclr/ms_aimclr_msr3d_xsub.py')
NTU = 'ntu_sample/S001C001P001R001A001'
HAS_MEDIAPIPE = importlib.util.find_spec('mediapipe') is not None
VAL_CLIPS = ['a01_s02_e01', 'a08_s04_e02', 'a20_s10_e03']


@pytest.fixture(scope='module')
def probe(tmp_path_factory):
    """The MSR store and a linear probe trained for 2 steps on a random
    encoder (saved by tools/train.py's runner, as the linear configs save)."""
    from .conftest import SHARED_DATA
    if not SHARED_DATA.is_dir():
        pytest.skip(f'real data folder {SHARED_DATA} is absent')
    tmp = tmp_path_factory.mktemp('infer')
    store = str(tmp / 'msr3d')
    convert_msr3d(str(SHARED_DATA / 'msr_action3d/real_world_coordinates'),
                  store, derived=['coco'], check=False)
    pre = Config.fromfile(PRETRAIN)
    pre.train_dataloader.dataset.ann_file = store
    save_initial_checkpoint(pre, str(tmp / 'pre.pth'))
    cfg = Config.fromfile(LINEAR)
    cfg.merge_from_dict({
        'work_dir': str(tmp / 'linear'),
        'model.backbone.init_cfg.checkpoint': str(tmp / 'pre.pth'),
        'train_dataloader.dataset.ann_file': store,
        'train_dataloader.dataset.label_fraction': 0.1,
        'train_dataloader.num_workers': 0,
        'train_dataloader.persistent_workers': False,
        'train_cfg.max_epochs': 1,
        'default_hooks.checkpoint.interval': 1,
    })
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    Runner.from_cfg(cfg).train()
    return dict(store=store, ckpt=str(tmp / 'linear' / 'epoch_1.pth'),
                options=[f'test_dataloader.dataset.ann_file={store}'])


def _infer(probe, *argv):
    return load_tool('infer').main([LINEAR, probe['ckpt'], *map(str, argv),
                                    '--cfg-options', *probe['options']])


def test_store_clips_and_array_files(probe, tmp_path, capsys):
    preds = _infer(probe, '--clips', *VAL_CLIPS, '--topk', '3', '--out',
                   tmp_path / 'p.json')
    out = capsys.readouterr().out.splitlines()
    assert [p['clip'] for p in preds] == VAL_CLIPS
    # the store's class names, its label first, scores of the softmax
    assert out[0].startswith('a01_s02_e01 [high arm wave]: 1. ')
    for pred, line in zip(preds, out):
        assert len(pred['top']) == 3
        assert all(name == CLASSES[i] and f'{name} {score:.3f}' in line
                   for i, name, score in pred['top'])
        assert pred['scores'].shape == (20, )
        assert abs(pred['scores'].sum() - 1) < 1e-5
        assert pred['top'][0][2] == pytest.approx(pred['scores'].max())
    saved = json.loads((tmp_path / 'p.json').read_text())
    assert [s['top'][0][1] for s in saved] == [p['top'][0][1] for p in preds]

    # the same clips as files: raw Kinect v1 arrays (MTVC .npy) and the COCO
    # rendering as (T, V, C) text, which the model reads with its COCO
    # classifier (the config's test convention is not reachable from COCO)
    store = SkeletonStore(probe['store'])
    for clip in VAL_CLIPS:
        i = store.clip_names.index(clip)
        np.save(tmp_path / f'{clip}.npy', store.get(i, 'msr_action3d_20'))
        np.savetxt(tmp_path / f'{clip}.txt',
                   store.get(i, 'coco')[0].reshape(-1, 17 * 3))
    files = _infer(probe, *(tmp_path / f'{c}.npy' for c in VAL_CLIPS),
                   '--layout', 'msr_action3d_20', '--axes', 'MTVC')
    for a, b in zip(preds, files):
        assert a['clip'] == b['clip'] and b['label'] is None
        np.testing.assert_allclose(a['scores'], b['scores'], atol=1e-5)
    coco = _infer(probe, *(tmp_path / f'{c}.txt' for c in VAL_CLIPS),
                  '--layout', 'coco', '--axes', 'T VC')
    labeller = SkeletonLabeller(LINEAR, probe['ckpt'], cfg_options={
        'test_dataloader.dataset.ann_file': probe['store'],
        'test_dataloader.dataset.mode': 'coco'})
    for a, b in zip(labeller.label_store(VAL_CLIPS), coco):
        np.testing.assert_allclose(a['scores'], b['scores'], atol=1e-4)

    with pytest.raises(KeyError, match="no clip 'a99_s01_e01'"):
        _infer(probe, '--clips', 'a99_s01_e01')
    hand = dict(name='three_points', joint_names=['p0', 'p1', 'p2'],
                edges=[['p0', 'p1'], ['p1', 'p2']], center='p1', required_roles=[])
    with pytest.raises(ValueError, match='three_points: no regressor chain'):
        labeller.label_arrays({'x': np.ones((1, 5, 3, 3))}, hand)


@pytest.mark.skipif(not HAS_MEDIAPIPE,
                    reason='the optional mediapipe==0.10.21 is not installed')
def test_video(probe, shared_data, tmp_path, capsys):
    """The NTU sample video (mirrored: --mirror) through MediaPipe: labelled
    with the store's class names, drawn; the same scores as the shared
    MediaPipe file of that video given as an array file."""
    import cv2
    video = shared_data / f'{NTU}_rgb.avi'
    pred, = _infer(probe, video, '--mirror', '--max-frames', 24,
                   '--out-video', tmp_path / 'out.mp4')
    out = capsys.readouterr().out
    assert f'wrote {tmp_path / "out.mp4"} (24 frames)' in out
    assert f'S001C001P001R001A001_rgb: 1. {pred["top"][0][1]} ' in out
    assert pred['missing'] == 0 and [t[1] for t in pred['top']] == \
        [CLASSES[t[0]] for t in pred['top']]
    cap = cv2.VideoCapture(str(tmp_path / 'out.mp4'))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 24
    assert int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 1920
    cap.release()
    ref = np.load(shared_data / f'{NTU}_mediapipe0.10.21_flipped.npz')
    np.save(tmp_path / 'mp.npy', ref['pose_world'][:24, :, :3])
    arr, = _infer(probe, tmp_path / 'mp.npy', '--layout', 'blazepose_33',
                  '--up', 'y-down')
    # MediaPipe reproduces the file to 1e-3 (tests/test_data_prep_video.py)
    np.testing.assert_allclose(pred['scores'], arr['scores'], atol=2e-3)
    assert pred['top'][0][0] == arr['top'][0][0]
