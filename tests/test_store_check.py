"""Store integrity, schema errors, the store checker and its CLI, reopening
stores with user layouts in a fresh process, body frames."""
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from msclr_plugin.datasets import SkeletonStore, SkeletonStoreWriter, check_store
from msclr_plugin.datasets.body_frame import (UP_ROTATIONS, body_axes, normalize_body,
                                              source_frame, to_store_frame)
from msclr_plugin.datasets.store import InvalidClipError
from msclr_plugin.skeletons import get_layout

ROOT = Path(__file__).resolve().parents[1]
K = get_layout('kinectv2_25')


def _body(rng, frames=6):
    """A Kinect-like standing body (y up), jittered per frame."""
    pose = np.zeros((25, 3))
    for role, pos in (('pelvis', (0, 0, 0)), ('neck', (0, .5, 0)),
                      ('head', (0, .7, -.06)), ('left_shoulder', (-.2, .45, 0)),
                      ('right_shoulder', (.2, .45, 0)), ('left_hip', (-.1, 0, 0)),
                      ('right_hip', (.1, 0, 0)), ('spine', (0, .25, 0))):
        pose[list(K.role(role))] = pos
    # Kinect space: the right shoulder has the larger x, the body faces -z
    kp = pose + rng.normal(scale=0.01, size=(frames, 25, 3))
    return kp[None].astype(np.float32) + [0, 0, 3]


def _store(root, names=('a', 'b', 'c', 'd'), frames=6, layout='kinectv2_25'):
    rng = np.random.default_rng(0)
    with SkeletonStoreWriter(str(root), {'k': layout, 'copy': layout},
                             classes=['x', 'y']) as w:
        for i, name in enumerate(names):
            kp = _body(rng, frames)
            w.add(name, i % 2, {'k': kp, 'copy': kp * 1.01})
        w.set_splits({'train': [0, 1], 'val': [2, 3]})
    return str(root)


def _edit_index(root, **changes):
    with open(f'{root}/index.json') as f:
        index = json.load(f)
    for key, value in changes.items():
        if value is None:
            index.pop(key)
        else:
            index[key] = value
    with open(f'{root}/index.json', 'w') as f:
        json.dump(index, f)


def test_shifted_offsets_detected_at_open(tmp_path):
    root = _store(tmp_path / 's', frames=6)
    off = np.load(f'{root}/copy_offsets.npy')
    off[1:-1] += 2  # clips now start two frames late
    np.save(f'{root}/copy_offsets.npy', off)
    with pytest.raises(ValueError, match='convention copy, clip a: the offsets '
                       'give 8 frames, 6 were written'):
        SkeletonStore(root)


@pytest.mark.parametrize('change', ['swap', 'duplicate', 'other store'])
def test_swapped_or_duplicated_clips_detected(tmp_path, change):
    root = _store(tmp_path / 's')
    data = np.load(f'{root}/copy.npy', mmap_mode='r+')
    if change == 'swap':  # same frame counts: only the identity tells
        data[0:6], data[12:18] = data[12:18].copy(), data[0:6].copy()
    elif change == 'duplicate':
        data[12:18] = data[0:6]
    else:  # the convention's files of a store with another clip order
        other = _store(tmp_path / 'o', names=('b', 'a', 'c', 'd'))
        for suffix in ('', '_offsets', '_clips'):
            Path(f'{other}/copy{suffix}.npy').replace(f'{root}/copy{suffix}.npy')
    data.flush()
    del data
    with pytest.raises(ValueError, match='convention copy, clip (a|c): the data '
                       'is not the clip written under this name'):
        SkeletonStore(root)  # 4 clips: all are sampled when opening
    store = SkeletonStore(root, verify=0)
    store.get(1, 'k')
    bad = 2 if change == 'duplicate' else 0  # clip c, or clip a
    with pytest.raises(ValueError, match=f'convention copy, clip {"ac"[bad // 2]}'):
        store.get(bad, 'copy')
    report = check_store(root)
    assert not report.ok and f'copy, clip {"ac"[bad // 2]}' in report.bad_clips[bad]


@pytest.mark.parametrize('change,match', [
    (dict(conventions=None), r"index.json: the index lacks \['conventions'\]"),
    (dict(labels=[0, 1, 2, 0]), r'index.json: clip c has label 2, outside \[0, 2\)'),
    (dict(labels=[0, -1, 0, 0]), r'clip b has label -1'),
    (dict(labels=[0, 1]), '2 labels for 4 clips'),
    (dict(splits=dict(train=[0, 7])), r'split train entry 1 is 7, not a clip index'),
    (dict(splits=dict(train=[0, 0])), 'split train lists clip a twice'),
    (dict(clip_names=['a', 'b', 'b', 'd']), 'clip b appears twice'),
])
def test_schema_split_and_label_errors_name_store_and_clip(tmp_path, change, match):
    root = _store(tmp_path / 's')
    _edit_index(root, **change)
    with pytest.raises(ValueError, match=match) as err:
        SkeletonStore(root)
    assert root in str(err.value)
    report = check_store(root)  # the checker reports it instead of raising
    assert not report.ok and root in report.format()


def test_overlapping_splits_fail_the_check(tmp_path):
    root = _store(tmp_path / 's')
    _edit_index(root, splits=dict(xsub_train=[0, 1], xsub_val=[1, 2], train=[3]))
    SkeletonStore(root)  # opens: a smoke test may validate on its training set
    report = check_store(root)
    assert report.errors == [
        f'{root}: splits xsub_train and xsub_val share 1 clips (e.g. b)']


def test_writer_refuses_bad_clips_whole(tmp_path):
    rng = np.random.default_rng(1)
    w = SkeletonStoreWriter(str(tmp_path / 's'), {'k': 'kinectv2_25', 'c': 'coco'},
                            num_classes=3)
    good = {'k': _body(rng), 'c': np.ones((1, 6, 17, 3), np.float32)}
    w.add('ok', 0, good)
    bad = [('ok', 0, good, 'added twice'),
           ('l', 3, good, r'label 3 outside \[0, 3\)'),
           ('s', '1', good, "label '1' is not an int"),
           ('z', 0, dict(good, c=np.zeros((1, 6, 17, 3))), 'all coordinates are zero'),
           ('ch', 0, dict(good, c=np.ones((1, 6, 17, 2))), r'\(M, V, C\) = \(1, 17, 2\)')]
    for name, label, clip, match in bad:
        with pytest.raises(InvalidClipError, match=match):
            w.add(name, label, clip)
    w.close()
    store = SkeletonStore(str(tmp_path / 's'))
    assert store.clip_names == ['ok']  # nothing of a refused clip was written
    assert store.num_frames('k').tolist() == [6] and store.num_classes == 3


USER_LAYOUT = dict(
    name='kinect_v1_20_test',
    joint_names=['hip', 'spine', 'shoulder_center', 'head', 'shoulder_left',
                 'shoulder_right', 'hip_left', 'hip_right'],
    edges=[[1, 0], [2, 1], [3, 2], [4, 2], [5, 2], [6, 0], [7, 0]],
    center='spine',
    flip='auto',
    roles=dict(pelvis='hip', neck='shoulder_center', head='head',
               left_shoulder='shoulder_left', right_shoulder='shoulder_right',
               left_hip='hip_left', right_hip='hip_right', spine='spine'))


def test_user_layout_store_reopens_in_a_fresh_process(tmp_path):
    root = tmp_path / 's'
    kp = np.random.default_rng(0).normal(size=(1, 5, 8, 3)).astype(np.float32)
    with SkeletonStoreWriter(str(root), {'v1': USER_LAYOUT}) as w:
        w.add('clip0', 0, {'v1': kp})
    code = ('import sys; from msclr_plugin.datasets import SkeletonStore, '
            'MultiSkeletonDataset; s = SkeletonStore(sys.argv[1]); '
            "print(s.layout('v1').name, s.layout('v1').roles['neck'], "
            "s.get(0, 'v1').shape); d = MultiSkeletonDataset(sys.argv[1], "
            "mode='single'); print(d.layouts['v1'].num_joints)")
    out = subprocess.run([sys.executable, '-c', code, str(root)],
                         capture_output=True, text=True, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ['kinect_v1_20_test', '(2,)', '(1,', '5,', '8,',
                                  '3)', '8']
    # a store of version 1 that records only an unknown name says what to do
    _edit_index(root, version=1)
    with open(root / 'index.json') as f:
        index = json.load(f)
    index['conventions']['v1']['layout'] = 'never_registered'
    del index['conventions']['v1']['clips']
    (root / 'index.json').write_text(json.dumps(index))
    with pytest.raises(KeyError, match='records only the layout name '
                       "'never_registered'.*register the layout"):
        SkeletonStore(str(root))


def test_up_rotations_and_mirror():
    for up, rot in UP_ROTATIONS.items():
        assert np.isclose(np.linalg.det(rot), 1)  # never a reflection
        axis = np.zeros(3)
        axis['xyz'.index(up[1])] = 1 if up[0] == '+' else -1
        np.testing.assert_allclose(rot @ axis, [0, 1, 0], atol=1e-12)
    kp = np.array([[[[1., 2., 3., 0.7]]]])
    np.testing.assert_allclose(
        to_store_frame(kp, source_frame(0.001, 'y-down')), [[[[-.001, -.002, .003, .7]]]],
        rtol=1e-6)
    np.testing.assert_allclose(
        to_store_frame(kp, dict(up='z-up', mirror=True)), [[[[-1, 3, -2, .7]]]])
    with pytest.raises(ValueError, match='up must be one of'):
        source_frame(up='w')


def test_body_preset_aligns_up_and_shoulders():
    rng = np.random.default_rng(3)
    kp = _body(rng, frames=8)
    # the body leans and faces sideways in a z-up world
    turn = np.array([[0, 0, 1], [0, 1, 0], [-1, 0, 0]]) @ np.array(
        [[1, 0, 0], [0, .96, -.28], [0, .28, .96]])
    raw = to_store_frame(kp @ turn.T.astype(np.float32), dict(up='y-up'))
    out = normalize_body(raw, K, center='neck', vertical='clip', shoulders='clip')
    axes = body_axes(out, K)
    assert (axes['up'] @ [0, 1, 0] > 0.99).all()
    assert (axes['lr'] @ [1, 0, 0] > 0.99).all()
    np.testing.assert_allclose(axes['neck'], 0, atol=1e-5)
    assert (axes['facing'] > 0.05).all()  # the head stays in front
    # rigid: distances kept
    d = lambda x: np.linalg.norm(x[0, :, :, None] - x[0, :, None], axis=-1)
    np.testing.assert_allclose(d(out), d(raw), atol=1e-4)


def _check_cli(argv):
    spec = importlib.util.spec_from_file_location(
        'check_store_tool', ROOT / 'tools' / 'data' / 'check_store.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool.main(argv)


def test_check_store_cli_reports_agreement_and_exit_code(tmp_path, capsys):
    root = _store(tmp_path / 's')
    assert _check_cli([root]) == 0
    out = capsys.readouterr().out
    assert 'store check of' in out and 'OK' in out
    assert 'agreement k vs copy' in out and 'torso length ratio' in out
    # a convention 10x too large fails the scale check, naming the worst clips
    assert _check_cli([root, '--torso-ratio', '0.995', '1.0']) == 1
    out = capsys.readouterr().out
    assert 'FAILED' in out and 'k vs copy: torso median 0.99' in out
    assert 'worst: ' in out and 'different units' in out
