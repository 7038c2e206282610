"""Importing mmaction2/pyskl annotation pickles into a store."""
import pickle

import numpy as np
import pytest

from msclr_plugin.data_prep.common import ConversionError
from msclr_plugin.data_prep.mmaction_pkl import import_mmaction_pkl
from msclr_plugin.datasets.store import SkeletonStore


def _anno(name, label, m, t, rng, v=25):
    kp = rng.normal(size=(m, t, v, 3)).astype(np.float32)
    return dict(
        frame_dir=name,
        label=label,
        keypoint=kp,
        total_frames=t,
        img_shape=(1080, 1920))


def test_import_ntu_style_pickle(tmp_path):
    rng = np.random.default_rng(0)
    annos = [
        _anno('S001C001P001R001A001', 0, 1, 30, rng),
        _anno('S001C002P003R001A002', 1, 2, 12, rng),
        _anno('S001C001P002R001A003', 2, 1, 7, rng)
    ]
    bad = _anno('S001C001P004R001A004', 3, 1, 5, rng, v=24)  # wrong joints
    nan = _anno('S001C001P005R001A005', 4, 1, 5, rng)
    nan['keypoint'][0, 2, 3, 1] = np.nan
    data = dict(
        split=dict(
            xsub_train=['S001C001P001R001A001', 'S001C001P004R001A004'],
            xsub_val=['S001C002P003R001A002', 'S001C001P002R001A003']),
        annotations=annos + [bad, nan])
    pkl = tmp_path / 'ntu60_3danno.pkl'
    pkl.write_bytes(pickle.dumps(data))
    res = import_mmaction_pkl(str(pkl), str(tmp_path / 'store'))
    assert res['kept'] == 3
    store = SkeletonStore(str(tmp_path / 'store'))
    assert store.clip_names == [a['frame_dir'] for a in annos]
    assert store.labels.tolist() == [0, 1, 2]
    assert store.num_frames('kinectv2_25').tolist() == [30, 12, 7]
    assert store.splits == {'xsub_train': [0], 'xsub_val': [1, 2]}
    np.testing.assert_array_equal(store.get(1, 'kinectv2_25'), annos[1]['keypoint'])
    one = store.get(0, 'kinectv2_25')  # padded to 2 bodies with zeros
    assert one.shape == (2, 30, 25, 3) and not one[1].any()
    reasons = ' '.join(s['reason'] for s in store.skipped)
    assert 'S001C001P004R001A004' in reasons and '(M, T, 25, C)' in reasons
    assert 'NaN' in reasons
    assert res['skipped'].counts()['bad annotation'] == 2


def test_2d_with_scores(tmp_path):
    rng = np.random.default_rng(1)
    anno = _anno('clip', 5, 1, 4, rng, v=17)
    anno['keypoint'] = anno['keypoint'][..., :2]
    anno['keypoint_score'] = np.ones((1, 4, 17), np.float32)
    pkl = tmp_path / 'coco.pkl'
    pkl.write_bytes(pickle.dumps(dict(split={}, annotations=[anno])))
    import_mmaction_pkl(
        str(pkl), str(tmp_path / 's'), layout='coco', num_person=1, with_score=True)
    kp = SkeletonStore(str(tmp_path / 's')).get(0, 'coco')
    assert kp.shape == (1, 4, 17, 3) and (kp[..., 2] == 1).all()


def test_not_a_pickle(tmp_path):
    path = tmp_path / 'x.pkl'
    path.write_bytes(b'not a pickle')
    with pytest.raises(ConversionError, match='x.pkl'):
        import_mmaction_pkl(str(path), str(tmp_path / 's'))
    path.write_bytes(pickle.dumps([1, 2]))
    with pytest.raises(ConversionError, match='annotations'):
        import_mmaction_pkl(str(path), str(tmp_path / 's'))
