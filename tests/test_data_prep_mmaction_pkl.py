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
    assert res['skipped'].counts() == {
        'wrong shape': 1, 'NaN': 1, 'split refers to a skipped/absent clip': 1}


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


class _Exploit:
    """Unpickling this object would create a file (run code)."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


def test_malicious_pickle_creates_no_file(tmp_path):
    from msclr_plugin.datasets import MultiSkeletonDataset
    target = tmp_path / 'pwned.txt'
    rng = np.random.default_rng(0)
    data = dict(split={}, annotations=[_anno('c0', 0, 1, 5, rng)], x=_Exploit(str(target)))
    pkl = tmp_path / 'evil.pkl'
    pkl.write_bytes(pickle.dumps(data))
    with pytest.raises(ConversionError, match=r'evil.pkl: refused to load global '
                       r'(_?io|builtins)\.open'):
        import_mmaction_pkl(str(pkl), str(tmp_path / 's'))
    with pytest.raises(pickle.UnpicklingError, match='evil.pkl: refused'):
        MultiSkeletonDataset(str(pkl), conventions=['kinectv2_25'], mode='reference')
    assert not target.exists()
    # numpy arrays, dtypes, scalars and containers of every protocol load
    safe = dict(annotations=[dict(frame_dir='c', label=np.int64(0), s={1},
                                  keypoint=_anno('c', 0, 1, 5, rng)['keypoint'])])
    from msclr_plugin.datasets.safe_pickle import load_pickle
    for proto in range(pickle.HIGHEST_PROTOCOL + 1):
        pkl.write_bytes(pickle.dumps(safe, protocol=proto))
        np.testing.assert_array_equal(load_pickle(str(pkl))['annotations'][0]['keypoint'],
                                      safe['annotations'][0]['keypoint'])


def test_labels_channels_and_zero_clips_are_counted_skips(tmp_path):
    rng = np.random.default_rng(2)
    annos = [_anno('a', 'drink', 1, 4, rng), _anno('b', 'wave', 1, 4, rng),
             _anno('c', 'dance', 1, 4, rng), _anno('d', 1, 1, 4, rng),
             _anno('e', 'wave', 1, 4, rng), _anno('f', 'drink', 1, 4, rng)]
    annos[4]['keypoint'] = annos[4]['keypoint'][..., :2]  # another channel count
    annos[5]['keypoint'][:] = 0  # all zeros
    pkl = tmp_path / 'names.pkl'
    pkl.write_bytes(pickle.dumps(dict(split=dict(train=['a', 'b', 'e']),
                                      annotations=annos)))
    res = import_mmaction_pkl(str(pkl), str(tmp_path / 's'), classes=['drink', 'wave'])
    assert res['kept'] == 3 and res['check'].ok
    assert res['skipped'].counts() == {
        'unknown class': 1, 'shape differs': 1, 'all zeros': 1,
        'split refers to a skipped/absent clip': 1}
    reasons = ' '.join(s['reason'] for s in res['skipped'].items)
    assert "clip c, convention kinectv2_25: label 'dance' is not in the class" in reasons
    store = SkeletonStore(str(tmp_path / 's'))
    assert store.labels.tolist() == [0, 1, 1] and store.classes == ['drink', 'wave']
    assert store.splits == {'train': [0, 1]}
    # string labels without a class list, and numbers outside num_classes
    res = import_mmaction_pkl(str(pkl), str(tmp_path / 's2'), num_classes=1)
    assert res['kept'] == 0 and not res['check'].ok
    assert res['skipped'].counts()['string label without a class list'] == 5
    assert 'give the class list' in res['skipped'].items[0]['reason']
    assert res['skipped'].counts()['label out of range'] == 1
