"""NW-UCLA conversion on small files written here in the release's format
(CTR-GCN's all_sqe/: aAA_sSS_eEE_vVV.json with ``skeletons``, T x 20 Kinect
v1 joints in the SDK's order): joint reordering by name, the ten labels,
the cross-view split, counted skips, the tool and the dataset."""
import json

import numpy as np
import pytest

from msclr_plugin.data_prep import nw_ucla
from msclr_plugin.data_prep.common import ConversionError
from msclr_plugin.datasets import MultiSkeletonDataset
from msclr_plugin.datasets.store import SkeletonStore
from msclr_plugin.skeletons import get_layout
from .conftest import load_tool

# a standing person, metres, y up (x: the subject's left at larger x)
POSE = {
    'HipCenter': (0, 0.9, 3), 'Spine': (0, 1.1, 3), 'ShoulderCenter': (0, 1.4, 3),
    'Head': (0, 1.6, 3), 'ShoulderLeft': (0.18, 1.38, 3),
    'ElbowLeft': (0.25, 1.12, 3), 'WristLeft': (0.28, 0.9, 3),
    'HandLeft': (0.29, 0.82, 3), 'ShoulderRight': (-0.18, 1.38, 3),
    'ElbowRight': (-0.25, 1.12, 3), 'WristRight': (-0.28, 0.9, 3),
    'HandRight': (-0.29, 0.82, 3), 'HipLeft': (0.1, 0.85, 3),
    'KneeLeft': (0.11, 0.47, 3), 'AnkleLeft': (0.12, 0.08, 3),
    'FootLeft': (0.12, 0.03, 2.9), 'HipRight': (-0.1, 0.85, 3),
    'KneeRight': (-0.11, 0.47, 3), 'AnkleRight': (-0.12, 0.08, 3),
    'FootRight': (-0.12, 0.03, 2.9)}


def write_clip(folder, name, frames=12, shift=0.):
    """One file as the release writes it: the SDK joint order."""
    rng = np.random.default_rng(len(name) + frames)
    pose = np.array([POSE[j] for j in nw_ucla.FILE_JOINTS])
    seq = pose[None] + [shift, 0, 0] + rng.normal(0, 0.01, (frames, 20, 3))
    (folder / f'{name}.json').write_text(json.dumps(
        dict(file_name=name, skeletons=seq.tolist())))
    return seq


@pytest.fixture
def ucla(tmp_path):
    folder = tmp_path / 'all_sqe'
    folder.mkdir()
    clips = {}
    for name in ('a01_s01_e00_v01', 'a08_s02_e01_v02', 'a12_s03_e00_v03',
                 'a11_s09_e02_v03', 'a06_s10_e04_v01'):
        clips[name] = write_clip(folder, name, shift=0.1 * len(clips))
    # skipped, counted: an action outside the ten, a fourth view, a bad file
    write_clip(folder, 'a07_s01_e00_v01')
    write_clip(folder, 'a01_s01_e00_v04')
    (folder / 'a02_s01_e00_v01.json').write_text(json.dumps(
        dict(skeletons=[[[0, 0, 0]] * 19])))
    return folder, clips


def test_convert_nw_ucla(ucla, tmp_path):
    folder, clips = ucla
    res = nw_ucla.convert_nw_ucla(str(folder), str(tmp_path / 's'),
                                  derived=['coco'])
    assert res['seen'] == 8 and res['kept'] == 5 and res['check'].ok
    assert res['skipped'].counts() == {'unknown action': 1, 'unknown view': 1,
                                       'bad file': 1}
    store = SkeletonStore(str(tmp_path / 's'))
    assert list(store.conventions) == ['msr_action3d_20', 'coco']
    assert store.classes == list(nw_ucla.CLASSES)
    labels = dict(zip(store.clip_names, store.labels.tolist()))
    # a01..a06 -> 0..5, a08 -> 6, a09 -> 7, a11 -> 8, a12 -> 9
    assert labels == {'a01_s01_e00_v01': 0, 'a06_s10_e04_v01': 5,
                      'a08_s02_e01_v02': 6, 'a11_s09_e02_v03': 8,
                      'a12_s03_e00_v03': 9}
    view = {i: int(n[-2:]) for i, n in enumerate(store.clip_names)}
    assert sorted(view[i] for i in store.splits['xview_train']) == [1, 1, 2]
    assert sorted(view[i] for i in store.splits['xview_val']) == [3, 3]
    # every joint where its name says, in the layout's order
    layout = get_layout('msr_action3d_20')
    for name, seq in clips.items():
        kp = store.get(store.clip_names.index(name), 'msr_action3d_20')[0]
        assert kp.shape == (12, 20, 3)
        for joint in ('Head', 'HipCenter', 'HandLeft', 'FootRight', 'Spine'):
            np.testing.assert_allclose(
                kp[:, layout.index(joint)],
                seq[:, nw_ucla.FILE_JOINTS.index(joint)], atol=1e-6)
    dataset = MultiSkeletonDataset(ann_file=str(tmp_path / 's'), split='xview_val',
                                   conventions=['msr_action3d_20'],
                                   mode='msr_action3d_20', validate=True,
                                   pipeline=[])
    assert len(dataset) == 2


def test_bad_files(tmp_path):
    path = tmp_path / 'a01_s01_e00_v01.json'
    path.write_text('{"skeletons": [[[0, 0, 1]]]}')
    with pytest.raises(ConversionError, match=r'\(T, 20, 3\)'):
        nw_ucla.read_ucla_file(str(path))
    path.write_text('{"skeleton": []}')
    with pytest.raises(ConversionError, match='KeyError'):
        nw_ucla.read_ucla_file(str(path))
    path.write_text(json.dumps(dict(skeletons=[[[float('nan'), 0, 1]] * 20])))
    with pytest.raises(ConversionError, match='NaN'):
        nw_ucla.read_ucla_file(str(path))
    with pytest.raises(ConversionError, match='not an NW-UCLA name'):
        nw_ucla.parse_name('a01_s01_e00')


def test_tool(ucla, tmp_path, capsys):
    folder, _ = ucla
    tool = load_tool('data/nw_ucla_to_store')
    assert tool.main(['--data-dir', str(folder), '--out', str(tmp_path / 't')]) == 0
    assert '8 files found' in capsys.readouterr().out
    assert len(SkeletonStore(str(tmp_path / 't')).clip_names) == 5


def test_configs_read_the_store(ucla, tmp_path):
    """The NW-UCLA pretraining and probe configs' pipelines on a converted
    store: one item each, in the shapes the model takes."""
    from mmengine.config import Config
    from mmaction.registry import DATASETS
    from .conftest import ROOT
    folder, _ = ucla
    store = str(tmp_path / 's')
    nw_ucla.convert_nw_ucla(str(folder), store, derived=['coco'])
    for config, loader in (('ms_aimclr_nw_ucla_xview.py', 'train_dataloader'),
                           ('linear/linear_ms_aimclr_nw_ucla_xview.py',
                            'test_dataloader')):
        cfg = Config.fromfile(str(ROOT / 'configs/msclr' / config))
        dataset = DATASETS.build(dict(cfg[loader].dataset.to_dict(), ann_file=store))
        item = dataset[0]
        inputs = item['inputs']
        views = inputs.values() if isinstance(inputs, dict) else [inputs]
        assert all(v.shape[-1] == 3 and v.shape[-3] == 50 for v in views), config
