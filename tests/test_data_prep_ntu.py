"""NTU raw .skeleton parser, body selection, splits and AimCLR preprocess."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from msclr_plugin.data_prep import ntu
from msclr_plugin.data_prep.common import ConversionError, aimclr_preprocess
from msclr_plugin.datasets.store import SkeletonStore
from msclr_plugin.skeletons import get_layout

CLIP = 'S001C001P001R001A001'
K = get_layout('kinectv2_25')


def _body_lines(body_id, xyz):
    lines = [f'{body_id} 0 1 1 1 1 0 0.0 0.0 2', str(len(xyz))]
    lines += [' '.join([f'{v:.4f}' for v in p] + ['0'] * 8 + ['2']) for p in xyz]
    return lines


def _write(path, frames):
    """frames: list of {body_id: (25, 3)}"""
    lines = [str(len(frames))]
    for bodies in frames:
        lines.append(str(len(bodies)))
        for bid, xyz in bodies.items():
            lines += _body_lines(bid, xyz)
    path.write_text('\n'.join(lines) + '\n')
    return str(path)


def test_real_sample(shared_data):
    path = shared_data / 'ntu_sample' / f'{CLIP}.skeleton'
    tracks = ntu.read_skeleton_file(str(path))
    assert len(tracks) == 1
    kp = ntu.load_clip(str(path))
    assert kp.shape == (2, 103, 25, 3)
    assert not kp[1].any()  # one body: the second is zero
    # Kinect camera space: y up, z depth about 3.5 m
    head, foot = K.index('Head'), K.index('FootLeft')
    assert (kp[0, :, head, 1] > kp[0, :, foot, 1] + 1.0).all()
    assert 2.5 < kp[0, :, :, 2].mean() < 4.5
    # first joint of the first frame, verbatim from the file
    np.testing.assert_allclose(kp[0, 0, 0], [0.2181153, 0.1725972, 3.785547], rtol=1e-6)


def test_convert_store_and_splits(shared_data, tmp_path):
    res = ntu.convert_ntu(
        str(shared_data / 'ntu_sample'), str(tmp_path / 's'), benchmark='ntu60')
    assert res['kept'] == 1 and len(res['skipped']) == 0
    store = SkeletonStore(str(tmp_path / 's'))
    assert store.clip_names == [CLIP] and store.labels.tolist() == [0]
    assert store.num_frames('kinectv2_25').tolist() == [103]
    # subject 1 trains in xsub; camera 1 is a test view in xview
    assert store.splits['xsub_train'] == [0] and store.splits['xview_val'] == [0]
    assert store.splits['xview_train'] == []


def test_split_rules():
    assert ntu.split_membership('S001C002P003R001A001', 'ntu60') == dict(
        xsub=False, xview=True)
    assert ntu.split_membership('S018C001P045R002A100', 'ntu120') == dict(
        xsub=True, xset=True)
    assert ntu.split_membership('S017C003P044R002A100', 'ntu120') == dict(
        xsub=False, xset=False)
    with pytest.raises(ConversionError, match='not an NTU clip name'):
        ntu.parse_clip_name('S001C001P001A001')


def test_two_of_three_bodies_by_energy(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.normal(size=(25, 3))
    frames = []
    for t in range(6):
        bodies = {'still': base, 'mover': base + [t * 0.5, 0, 0]}
        if 2 <= t < 5:  # appears late, moves a little
            bodies['late'] = base + [0, t * 0.1, 0]
        frames.append(bodies)
    frames.append({})  # a frame with no body is dropped
    kp = ntu.load_clip(_write(tmp_path / f'{CLIP}.skeleton', frames))
    assert kp.shape == (2, 6, 25, 3)
    np.testing.assert_allclose(kp[0, 3], base + [1.5, 0, 0], atol=1e-4)
    # 'late' ranks second: zero where it is absent
    assert not kp[1, :2].any() and not kp[1, 5].any()
    np.testing.assert_allclose(kp[1, 3], base + [0, 0.3, 0], atol=1e-4)


@pytest.mark.parametrize('content,match', [
    ('2\n1\n1 0 1 1 1 1 0 0 0 2\n24\n', '24 joints'),
    ('3\n0\n0\n', 'truncated'),
    ('x\n', 'frame count'),
])
def test_bad_files_name_the_file(tmp_path, content, match):
    path = tmp_path / f'{CLIP}.skeleton'
    path.write_text(content)
    with pytest.raises(ConversionError, match=match) as err:
        ntu.load_clip(str(path))
    assert str(path) in str(err.value)


def test_skips_are_counted(tmp_path):
    rng = np.random.default_rng(1)
    good = [{'b': rng.normal(size=(25, 3))} for _ in range(4)]
    _write(tmp_path / 'S001C001P001R001A002.skeleton', good)
    _write(tmp_path / 'S001C001P002R001A003.skeleton', [{}, {}])  # no body
    (tmp_path / 'S001C001P003R001A004.skeleton').write_text('5\n1\n')
    _write(tmp_path / 'S001C001P004R001A005.skeleton', good)
    _write(tmp_path / 'S001C001P001R001A100.skeleton', good)  # NTU-120 only
    _write(tmp_path / 'S001C001P001R001A000.skeleton', good)  # no action 0
    _write(tmp_path / 'S001C001P041R001A001.skeleton', good)  # NTU-60: P001-P040
    _write(tmp_path / 'S001C004P001R001A001.skeleton', good)  # cameras 1-3
    bad = [{'b': np.full((25, 3), np.nan)}]
    _write(tmp_path / 'S001C001P005R001A006.skeleton', bad)
    ignore = tmp_path / 'ignore.txt'
    ignore.write_text('# missing skeletons\nS001C001P004R001A005.skeleton\n')
    res = ntu.convert_ntu(
        str(tmp_path), str(tmp_path / 'out'), ignore=ntu.read_ignore_list(str(ignore)))
    assert res['kept'] == 1
    counts = res['skipped'].counts()
    assert counts == {
        'no body': 1,
        'corrupt file': 2,
        'ignore list': 1,
        'not in ntu60': 2,
        'unknown subject': 1,
        'unknown camera': 1
    }
    store = SkeletonStore(str(tmp_path / 'out'))
    assert store.labels.tolist() == [1] and len(store.skipped) == 8
    assert res['check'].ok


def test_aimclr_preprocess(shared_data):
    kp = ntu.load_clip(
        str(shared_data / 'ntu_sample' / f'{CLIP}.skeleton'), preprocess='aimclr')
    assert kp.shape == (2, 50, 25, 3)
    neck = K.role('neck')[0]
    np.testing.assert_allclose(kp[0, :, neck], 0, atol=1e-6)
    vec = (
        K.role_position(kp[0], 'right_shoulder') -
        K.role_position(kp[0], 'left_shoulder'))
    assert (vec[:, 0] > 0.2).all()  # shoulder line along +x, every frame
    np.testing.assert_allclose(vec[:, 2], 0, atol=1e-5)
    assert not kp[1].any()  # the absent body stays zero


def test_aimclr_rotation_keeps_shape_and_handles_sign_change():
    rng = np.random.default_rng(2)
    kp = rng.normal(size=(1, 8, 25, 3)).astype(np.float32)
    out = aimclr_preprocess(kp, K, length=8)
    # rigid per frame after centring: pairwise distances unchanged
    centred = kp - K.role_position(kp, 'neck')[..., None, :]
    d_in = np.linalg.norm(centred[0, :, :, None] - centred[0, :, None], axis=-1)
    d_out = np.linalg.norm(out[0, :, :, None] - out[0, :, None], axis=-1)
    np.testing.assert_allclose(d_in, d_out, atol=1e-4)
    vec = (
        K.role_position(out[0], 'right_shoulder') -
        K.role_position(out[0], 'left_shoulder'))
    assert (vec[:, 0] > 0).all()  # even where the shoulder z changed sign


def test_cli(shared_data, tmp_path):
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([
        sys.executable,
        str(root / 'tools' / 'data' / 'ntu_to_store.py'), '--skeletons-dir',
        str(shared_data / 'ntu_sample'), '--out',
        str(tmp_path / 's'), '--benchmark', 'ntu120', '--preprocess', 'aimclr',
        '--max-clips', '1'
    ],
                         capture_output=True,
                         text=True,
                         check=True,
                         cwd=root)
    assert 'kept 1 clips, skipped 0' in out.stdout
    store = SkeletonStore(str(tmp_path / 's'))
    assert store.num_frames('kinectv2_25').tolist() == [50]
    assert set(store.splits) == {'xsub_train', 'xsub_val', 'xset_train', 'xset_val'}
    assert store.splits['xset_val'] == [0]  # setup 1 is odd
