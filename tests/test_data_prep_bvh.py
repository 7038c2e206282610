"""BVH parsing and forward kinematics on real Bandai Namco files."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from msclr_plugin.data_prep import bvh
from msclr_plugin.data_prep.common import ConversionError
from msclr_plugin.datasets.store import SkeletonStore
from msclr_plugin.skeletons import get_layout

L = get_layout('bandai_bvh_22')


@pytest.fixture
def bandai(shared_data):
    return shared_data / 'bandai_namco_motion2_subset'


def _bvh(bandai, name):
    return bvh.BVH(str(bandai / 'data' / f'dataset-2_{name}.bvh'))


def test_hierarchy_matches_layout(bandai):
    clip = _bvh(bandai, 'walk_active_001')
    bvh.check_hierarchy(clip)
    assert tuple(clip.joint_names) == L.joint_names
    assert clip.motion.shape == (207, 22 * 6)
    assert clip.frame_time == pytest.approx(1 / 30, rel=1e-4)


def test_standing_figure(bandai):
    pos = _bvh(bandai, 'raise-up-both-hands_normal_001').positions(0.01)[0]
    toes = pos[[L.index('Toes_L'), L.index('Toes_R')], 1].min()
    height = pos[L.index('Head'), 1] - toes
    assert 1.3 < height < 1.9
    # upright: head over neck over chest over hips, hips about 0.9 m high
    ys = [pos[L.index(j), 1] for j in ('Hips', 'Chest', 'Neck', 'Head')]
    assert ys == sorted(ys) and 0.75 < pos[L.index('Hips'), 1] < 1.1
    # left side at +x when facing +z (right-handed, y up): a person, not a
    # mirror image, and the feet below the knees below the hips
    assert pos[L.index('UpperArm_L'), 0] > pos[L.index('UpperArm_R'), 0]
    assert pos[L.index('Toes_L'), 2] > pos[L.index('Foot_L'), 2]
    knee, foot = pos[L.index('LowerLeg_L'), 1], pos[L.index('Foot_L'), 1]
    assert foot < knee < pos[L.index('UpperLeg_L'), 1]


def test_walk_travels(bandai):
    pos = _bvh(bandai, 'walk_active_001').positions(0.01)
    hips = pos[:, L.index('Hips'), [0, 2]]
    assert 8.0 < np.linalg.norm(hips[-1] - hips[0]) < 12.0
    # the rotation channels matter: bone lengths stay fixed over time
    bone = np.linalg.norm(
        pos[:, L.index('LowerLeg_L')] - pos[:, L.index('UpperLeg_L')], axis=1)
    assert bone.std() < 1e-3 and 0.3 < bone.mean() < 0.5
    # the Z-X-Y intrinsic order keeps a foot on the ground in every frame
    # (measured 4.2-7.5 cm; Y-X-Z order would give -2 to 35 cm)
    feet = [L.index(j) for j in ('Foot_L', 'Foot_R', 'Toes_L', 'Toes_R')]
    lowest = pos[:, feet, 1].min(axis=1)
    assert (lowest > 0.0).all() and (lowest < 0.1).all()


def test_store_with_derived_conventions(bandai, tmp_path):
    names = [
        'dataset-2_walk_active_001', 'dataset-2_run_normal_002',
        'dataset-2_wave-left-hand_youthful_001'
    ]
    res = bvh.convert_bandai(str(bandai), str(tmp_path / 's'), files=names)
    assert res['kept'] == 3
    store = SkeletonStore(str(tmp_path / 's'))
    assert set(store.conventions) == {'bandai_bvh_22', 'smpl_24', 'kinectv2_25', 'coco'}
    assert store.classes[store.labels[0]] == 'walk'
    assert store.classes[store.labels[2]] == 'wave-left-hand'
    # the cross-style split, and a leave-one-style-out fold per style with
    # clips on both sides
    assert store.splits == {'xstyle_train': [0], 'xstyle_val': [1, 2],
                            'xstyle_active_train': [1, 2], 'xstyle_active_val': [0],
                            'xstyle_normal_train': [0, 2], 'xstyle_normal_val': [1],
                            'xstyle_youthful_train': [0, 1], 'xstyle_youthful_val': [2]}
    kin = store.get(0, 'kinectv2_25')
    k = get_layout('kinectv2_25')
    assert kin.shape == (1, 207, 25, 3)
    # derived skeleton: head above the spine base above the feet
    assert (kin[0, :, k.index('Head'), 1]
            > kin[0, :, k.index('SpineBase'), 1] + 0.4).all()
    coco = store.get(0, 'coco')
    c = get_layout('coco')
    assert (coco[0, :, c.index('nose'), 1] > coco[0, :, c.index('left_hip'), 1]).all()


def test_bad_bvh(bandai, tmp_path):
    text = (bandai / 'data' / 'dataset-2_walk_active_001.bvh').read_text()
    bad = tmp_path / 'dataset-2_walk_active_009.bvh'
    bad.write_text(text[:len(text) - 2000])  # truncated motion
    with pytest.raises(ConversionError, match='motion values'):
        bvh.load_bvh_conventions(str(bad))
    bad.write_text(text.replace('JOINT Toes_R', 'JOINT Toe_R'))
    with pytest.raises(ConversionError, match='differ from layout'):
        bvh.load_bvh_conventions(str(bad))
    bad.write_text(text.replace('0.000000 0.000000 0.000000', 'nan 0 0', 1))
    with pytest.raises(ConversionError, match='NaN'):
        bvh.BVH(str(bad))


def test_cli(bandai, tmp_path):
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([
        sys.executable,
        str(root / 'tools' / 'data' / 'bvh_to_store.py'), '--root',
        str(bandai), '--out',
        str(tmp_path / 's'), '--max-files', '2', '--derived', 'kinectv2_25'
    ],
                         capture_output=True,
                         text=True,
                         check=True,
                         cwd=root)
    assert 'kept 2 clips, skipped 0' in out.stdout
    store = SkeletonStore(str(tmp_path / 's'))
    assert set(store.conventions) == {'bandai_bvh_22', 'kinectv2_25'}
