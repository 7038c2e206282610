"""Attaching a convention from per-clip files; MediaPipe vs NTU on the real
sample clip."""
import numpy as np
import pytest
import torch

from msclr_plugin.data_prep import ntu
from msclr_plugin.data_prep.attach import (attach_convention, load_array,
                                           procrustes_error)
from msclr_plugin.data_prep.common import ConversionError
from msclr_plugin.datasets.store import SkeletonStore, SkeletonStoreWriter
from msclr_plugin.skeletons import get_layout

CLIP = 'S001C001P001R001A001'
MP_PATTERN = '{clip}_mediapipe0.10.21_flipped.npz'
# README correspondences (NTU 1-based 5->11, 9->12, 6->13, ...) by name
PAIRS = [('ShoulderLeft', 'left_shoulder'), ('ShoulderRight', 'right_shoulder'),
         ('ElbowLeft', 'left_elbow'), ('ElbowRight', 'right_elbow'),
         ('WristLeft', 'left_wrist'), ('WristRight', 'right_wrist'),
         ('HipLeft', 'left_hip'), ('HipRight', 'right_hip'), ('KneeLeft', 'left_knee'),
         ('KneeRight', 'right_knee'), ('AnkleLeft', 'left_ankle'),
         ('AnkleRight', 'right_ankle')]


def _median_pa_error(ntu_kp, mp_kp, pairs):
    k, b = get_layout('kinectv2_25'), get_layout('blazepose_33')
    a = ntu_kp[:, [k.index(n) for n, _ in pairs]]
    m = mp_kp[:, [b.index(n) for _, n in pairs]]
    # centre each on its own pelvis role, then align per frame
    a = a - k.role_position(ntu_kp, 'pelvis')[:, None]
    m = m - b.role_position(mp_kp, 'pelvis')[:, None]
    return float(
        np.median(
            np.concatenate([procrustes_error(m[t], a[t]) for t in range(len(a))])))


def test_mediapipe_on_ntu_sample(shared_data, tmp_path):
    sample = shared_data / 'ntu_sample'
    ntu.convert_ntu(str(sample), str(tmp_path / 'ntu'))
    res = attach_convention(
        str(tmp_path / 'ntu'),
        str(sample),
        str(tmp_path / 'both'),
        'blazepose_33',
        'blazepose_33',
        pattern=MP_PATTERN,
        key='pose_world',
        channels=3,
        on_mismatch='error')
    assert res['kept'] == 1 and not res['resampled']
    store = SkeletonStore(str(tmp_path / 'both'))
    mp_kp = store.get(0, 'blazepose_33')
    ntu_kp = store.get(0, 'kinectv2_25')
    assert mp_kp.shape == (1, 103, 33, 3) and ntu_kp.shape[1] == 103
    assert store.splits['xsub_train'] == [0]
    err = _median_pa_error(ntu_kp[0], mp_kp[0], PAIRS)
    assert err < 0.150  # measured 44 mm
    # the correspondence matters: swapping left and right is much worse
    swapped = [(n, m.replace('left', 'L').replace('right',
                                                  'left').replace('L', 'right'))
               for n, m in PAIRS]
    assert _median_pa_error(ntu_kp[0], mp_kp[0], swapped) > err * 1.5


def _small_store(root, frames=(5, 7)):
    rng = np.random.default_rng(0)
    with SkeletonStoreWriter(str(root), {'kinectv2_25': 'kinectv2_25'}) as w:
        for i, t in enumerate(frames):
            w.add(f'clip{i}', i, {'kinectv2_25': rng.normal(size=(1, t, 25, 3))})
        w.set_splits({
            'train': [i for i in range(len(frames)) if i != 1],
            'val': [1]
        } if len(frames) > 1 else {'train': [0]})
    return rng


def test_formats_scale_mismatch_and_missing(tmp_path):
    rng = _small_store(tmp_path / 's', frames=(5, 7, 4))
    files = tmp_path / 'files'
    files.mkdir()
    smplx = [rng.normal(size=(5, 42, 3)) * 1000, rng.normal(size=(9, 42, 3))]
    torch.save({'joints': torch.from_numpy(smplx[0])}, files / 'clip0.pt')
    np.save(files / 'clip1.pt.npy', smplx[1])  # wrong name: not found
    res = attach_convention(
        str(tmp_path / 's'),
        str(files),
        str(tmp_path / 'o'),
        'smplx_42',
        'smplx_42',
        pattern='{clip}.pt',
        key='joints',
        scale=0.001)
    assert res['kept'] == 1
    assert res['skipped'].counts() == {'no smplx_42 file': 2}
    out = SkeletonStore(str(tmp_path / 'o'))
    np.testing.assert_allclose(out.get(0, 'smplx_42')[0], smplx[0] / 1000, rtol=1e-5)
    assert out.splits == {'train': [0], 'val': []}
    # frame mismatch: resampled with a warning, or skipped, or an error
    np.save(files / 'clip1.npy', smplx[1])
    with pytest.warns(UserWarning, match='clip clip1'):
        res = attach_convention(
            str(tmp_path / 's'),
            str(files),
            str(tmp_path / 'o2'),
            'smplx_42',
            'smplx_42',
            pattern='{clip}.npy')
    assert res['resampled'] == ['clip1']
    assert SkeletonStore(str(tmp_path / 'o2')).num_frames('smplx_42').tolist() == [7]
    res = attach_convention(
        str(tmp_path / 's'),
        str(files),
        str(tmp_path / 'o3'),
        'smplx_42',
        'smplx_42',
        pattern='{clip}.npy',
        on_mismatch='skip')
    assert res['skipped'].counts()['frame count mismatch'] == 1
    with pytest.raises(ConversionError, match='clip1.npy'):
        attach_convention(
            str(tmp_path / 's'),
            str(files),
            str(tmp_path / 'o4'),
            'smplx_42',
            'smplx_42',
            pattern='{clip}.npy',
            on_mismatch='error')


def test_bad_files(tmp_path):
    _small_store(tmp_path / 's', frames=(5, ))
    files = tmp_path / 'files'
    files.mkdir()
    np.save(files / 'clip0.npy', np.zeros((5, 41, 3)))  # wrong joint count
    res = attach_convention(
        str(tmp_path / 's'), str(files), str(tmp_path / 'o'), 'smplx_42', 'smplx_42')
    assert res['kept'] == 0
    assert 'clip0' in res['skipped'].items[0]['reason']
    assert '42' in res['skipped'].items[0]['reason']
    (files / 'bad.pt').write_bytes(b'garbage')
    with pytest.raises(ConversionError, match='bad.pt'):
        load_array(str(files / 'bad.pt'), 'x')
    np.savez(files / 'two.npz', a=np.zeros(1), b=np.zeros(1))
    with pytest.raises(ConversionError, match='give the array name'):
        load_array(str(files / 'two.npz'))
    with pytest.raises(ValueError, match='must not overwrite'):
        attach_convention(
            str(tmp_path / 's'), str(files), str(tmp_path / 's'), 'x', 'coco')


def test_ntu_recipe_conventions_in_one_body_frame(shared_data, tmp_path):
    """The documented NTU recipe: Kinect + MediaPipe world landmarks (metres,
    hip-centred, y down) of the same clip, normalised AimCLR-style."""
    from msclr_plugin.datasets.store_check import check_store
    sample = shared_data / 'ntu_sample'
    ntu.convert_ntu(str(sample), str(tmp_path / 'ntu'), preprocess='aimclr')
    kwargs = dict(pattern=MP_PATTERN, key='pose_world', channels=3)
    # the axes left unstated: upside down, and the check says so
    res = attach_convention(
        str(tmp_path / 'ntu'), str(sample), str(tmp_path / 'raw'), 'blazepose_33',
        'blazepose_33', **kwargs)
    up = res['check'].agreement[('kinectv2_25', 'blazepose_33')]['up']['median']
    assert not res['check'].ok and up < -0.9  # measured -0.934
    assert 'state the source\'s up axis' in res['check'].format()
    res = attach_convention(
        str(tmp_path / 'ntu'), str(sample), str(tmp_path / 'both'), 'blazepose_33',
        'blazepose_33', up='y-down', **kwargs)
    assert res['check'].ok, res['check'].format()
    stats = check_store(str(tmp_path / 'both')).agreement[('kinectv2_25',
                                                           'blazepose_33')]
    got = {k: v['median'] for k, v in stats.items()}
    # measured: up 0.978, left-right 1.000, pelvis/neck 0.052 m, torso 0.966
    assert got['up'] > 0.9 and got['lr'] > 0.8 and got['centre'] < 0.15
    assert 0.7 < got['torso'] < 1.4 and got['facing'] == 1
    store = SkeletonStore(str(tmp_path / 'both'))
    spec = store.conventions['blazepose_33']
    assert spec['source'] == dict(scale=1.0, up='-y', mirror=False)
    assert spec['normalize']['preset'] == 'aimclr'  # inherited from kinectv2_25
    assert store.num_frames('blazepose_33').tolist() == [50]
    assert store.source_frames('blazepose_33').tolist() == [103]
    assert isinstance(spec['layout'], dict)  # the full layout
    # the mirror image is caught by the facing check
    res = attach_convention(
        str(tmp_path / 'ntu'), str(sample), str(tmp_path / 'mirror'), 'blazepose_33',
        'blazepose_33', up='y-down', mirror=True, **kwargs)
    assert not res['check'].ok and 'a mirror image' in res['check'].format()


def test_declared_axis_order(tmp_path):
    _small_store(tmp_path / 's', frames=(5, 7))
    files = tmp_path / 'files'
    files.mkdir()
    rng = np.random.default_rng(4)
    # MS-CLR's per-clip files: (T, 2 persons, 42, 3)
    clips = [rng.normal(size=(t, 2, 42, 3)).astype(np.float32) for t in (5, 7)]
    for i, kp in enumerate(clips):
        np.save(files / f'clip{i}.npy', kp)
    args = (str(tmp_path / 's'), str(files))
    with pytest.raises(ValueError, match=r'clip0.npy: a 4-D array of shape '
                       r"\(5, 2, 42, 3\): declare its axis order"):
        attach_convention(*args, str(tmp_path / 'o'), 'smplx_42', 'smplx_42')
    res = attach_convention(
        *args, str(tmp_path / 'o2'), 'smplx_42', 'smplx_42', axes='TMVC',
        on_mismatch='error', check=False)
    assert res['kept'] == 2
    out = SkeletonStore(str(tmp_path / 'o2'))
    np.testing.assert_array_equal(out.get(1, 'smplx_42'), clips[1].transpose(1, 0, 2, 3))
    # a declared order that does not fit a file: that clip is skipped, named
    np.save(files / 'clip1.npy', clips[1][:, 0])
    res = attach_convention(
        *args, str(tmp_path / 'o3'), 'smplx_42', 'smplx_42', axes='TMVC', check=False)
    assert res['kept'] == 1 and res['skipped'].counts() == {'bad smplx_42 file': 1}
    assert 'clip1.npy' in res['skipped'].items[0]['reason']
    assert 'declared order TMVC has 4' in res['skipped'].items[0]['reason']
