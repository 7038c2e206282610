"""MSR Action3D conversion on the real 567 files."""
import pytest

from msclr_plugin.data_prep import msr3d
from msclr_plugin.data_prep.common import ConversionError
from msclr_plugin.datasets.store import SkeletonStore
from msclr_plugin.skeletons import get_layout


@pytest.fixture
def msr_dir(shared_data):
    return shared_data / 'msr_action3d' / 'real_world_coordinates'


def test_all_files(msr_dir, tmp_path):
    res = msr3d.convert_msr3d(str(msr_dir), str(tmp_path / 's'))
    assert res['seen'] == 567 and res['kept'] == 566
    assert [s['clip'] for s in res['skipped'].items] == ['a13_s09_e02']
    assert res['skipped'].counts() == {'all zeros': 1}
    store = SkeletonStore(str(tmp_path / 's'))
    assert store.classes[0] == 'high arm wave' and len(store.classes) == 20
    assert sorted(set(store.labels.tolist())) == list(range(20))
    subjects = [int(n[5:7]) for n in store.clip_names]
    train = store.splits['xsub_train']
    assert all(subjects[i] % 2 == 1 for i in train)
    assert all(subjects[i] % 2 == 0 for i in store.splits['xsub_val'])
    assert len(train) + len(store.splits['xsub_val']) == 566
    frames = store.num_frames('msr_action3d_20')
    assert frames.min() == 13 and frames.max() == 936
    # axes: y up (head above the feet), z is depth
    layout = get_layout('msr_action3d_20')
    i = store.clip_names.index('a01_s01_e01')
    kp = store.get(i, 'msr_action3d_20')[0]
    head = kp[:, layout.index('Head'), 1]
    feet = kp[:, [layout.index('FootLeft'), layout.index('FootRight')], 1]
    assert (head > feet.max(1) + 1.0).all()
    assert 2.0 < kp[..., 2].mean() < 3.0


def test_cvpr12_protocol(msr_dir, tmp_path):
    res = msr3d.convert_msr3d(str(msr_dir), str(tmp_path / 's'), protocol='cvpr12')
    assert res['kept'] == 557
    assert res['skipped'].counts() == {'not in protocol': 10}


def test_bad_file(tmp_path):
    path = tmp_path / 'a01_s01_e01_skeleton3D.txt'
    path.write_text('0 0 1 1\n' * 19)
    with pytest.raises(ConversionError, match='19 lines'):
        msr3d.read_msr_file(str(path))
    path.write_text('nan 0 1 1\n' * 20)
    with pytest.raises(ConversionError, match='NaN'):
        msr3d.read_msr_file(str(path))
    path.write_text('0.1 0.2 2.5 1\n' * 40)
    assert msr3d.read_msr_file(str(path)).shape == (1, 2, 20, 3)


def test_unknown_actions_and_subjects_are_counted_skips(tmp_path):
    rows = '0.1 0.2 2.5 1\n' * 40
    for name in ('a01_s01_e01', 'a02_s02_e01', 'a00_s01_e01', 'a21_s03_e01',
                 'a03_s11_e01', 'a04_s03_e01'):
        (tmp_path / f'{name}_skeleton3D.txt').write_text(rows)
    (tmp_path / 'a05_s01_e01_skeleton3D.txt').write_text('0 0 0 0\n' * 40)
    res = msr3d.convert_msr3d(str(tmp_path), str(tmp_path / 's'))
    assert res['kept'] == 3 and res['check'].ok
    assert res['skipped'].counts() == {
        'unknown action': 2, 'unknown subject': 1, 'all zeros': 1}
    reasons = {s['clip']: s['reason'] for s in res['skipped'].items}
    assert 'a00_s01_e01_skeleton3D.txt: action a00 outside a01..a20' in reasons[
        'a00_s01_e01']
    assert 'subject s11 outside s01..s10' in reasons['a03_s11_e01']
    store = SkeletonStore(str(tmp_path / 's'))
    assert store.labels.tolist() == [0, 1, 3]
    assert store.splits == {'xsub_train': [0, 2], 'xsub_val': [1]}
