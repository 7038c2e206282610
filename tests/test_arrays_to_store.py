"""tools/data/arrays_to_store.py: any recordings in a declared layout -> a
store; and the walk-through of docs/skeletons.md, run without writing Python.
"""
import csv
import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from msclr_plugin.data_prep import arrays
from msclr_plugin.data_prep.common import ConversionError
from msclr_plugin.datasets.store import SkeletonStore
from msclr_plugin.skeletons import JointRegressor, get_layout

from .conftest import ROOT, load_tool, repo_env

MSR = 'msr_action3d/real_world_coordinates'


def _convert(argv):
    """The tool, in this process; its store check must pass."""
    assert load_tool('data/arrays_to_store').main([str(a) for a in argv]) == 0


def test_text_tables_and_rows():
    kp = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)  # MTVC
    assert arrays.parse_axes('tv c') == ('TVC', 'C')
    with pytest.raises(ValueError, match='each once'):
        arrays.parse_axes('TVV')
    one = kp[0]  # (T=3, V=4, C=5)
    # a line per joint and frame, or a line per frame: the same array
    np.testing.assert_array_equal(
        arrays.table_to_mtvc(one.reshape(12, 5), 'TV C', 4, None, 'f'),
        kp[:1])
    np.testing.assert_array_equal(
        arrays.table_to_mtvc(one.reshape(3, 20), 'TVC', 4, None, 'f'),
        kp[:1])
    with pytest.raises(ConversionError, match='f: 21 numbers a line is not a '
                       'multiple of 4'):
        arrays.table_to_mtvc(np.zeros((3, 21)), 'T VC', 4, None, 'f')
    # two persons along a line need their count
    np.testing.assert_array_equal(
        arrays.table_to_mtvc(kp.transpose(1, 0, 2, 3).reshape(3, 40), 'T MVC',
                             4, 2, 'f'), kp)
    with pytest.raises(ValueError, match='give the number of persons'):
        arrays.table_to_mtvc(np.zeros((3, 40)), 'T MVC', 4, None, 'f')
    # per-frame rows: frame number, an ignored column, coordinates x1 x2 ..
    frames = np.array([[7.], [9.], [12.]])
    rows = np.hstack([frames, np.zeros((3, 1)),
                      one.transpose(0, 2, 1).reshape(3, 20)])
    got, numbers = arrays.rows_to_mtvc(rows, 'frame _ CV', 4, None, 'f')
    np.testing.assert_array_equal(got, kp[:1])
    np.testing.assert_array_equal(numbers, [7, 9, 12])
    np.testing.assert_array_equal(
        arrays.select_frames(got, numbers, 8, 12, 'f')[0], kp[:1, 1:])
    with pytest.raises(ConversionError, match=r'f: no frame in 13\.\.20'):
        arrays.select_frames(got, numbers, 13, 20, 'f')
    with pytest.raises(ValueError, match='one coordinate block'):
        arrays.parse_columns('frame x y z')


def test_clip_table_errors(tmp_path):
    table = tmp_path / 'clips.csv'
    table.write_text('clip,label,start,end\na,walk,1,5\na,run,1,5\n')
    with pytest.raises(ValueError, match=r"clips.csv, line 3: clip 'a' "
                       r'already on .*line 2'):
        arrays.read_clip_table(str(table))
    # an unusable range: that clip is skipped and counted (convert_arrays)
    table.write_text('clip,label,start,end\na,walk,5,1\nb,run,,nan\n')
    assert [r['range'] for r in arrays.read_clip_table(str(table))] == [
        f'{table}, line 2: start 5 > end 1',
        f"{table}, line 3: start/end '', 'nan' are not two frame numbers"]
    table.write_text('clip,start\na,1\n')
    with pytest.raises(ValueError, match='line 2: no label'):
        arrays.read_clip_table(str(table))
    json_table = tmp_path / 'clips.json'
    json_table.write_text(json.dumps({'b': dict(label='run'),
                                      'a': dict(label='walk')}))
    rows = arrays.read_clip_table(str(json_table))
    assert arrays.resolve_labels(rows) == ([0, 1], ['run', 'walk'])
    with pytest.raises(ValueError, match=r"entry 1: label 'walk' is not a "
                       'class'):
        arrays.resolve_labels(rows, ['run', 'jump'])
    assert arrays.resolve_labels([dict(label='3')]) == ([3], None)


def test_skips_are_counted_with_reasons(tmp_path):
    """Missing files, empty frame ranges, all-zero clips, NaN, a wrong
    shape and a person count that differs are skipped and counted with the
    reason, never stored; --num-person pads instead."""
    good = np.random.default_rng(0).normal(size=(1, 6, 17, 3))
    for name, data in (('good', good), ('zero', np.zeros_like(good)),
                       ('nan', np.full_like(good, np.nan)),
                       ('two', np.concatenate([good, good])),
                       ('flat', np.zeros((6, 51)))):
        np.save(tmp_path / f'{name}.npy', data)
    with open(tmp_path / 'clips.csv', 'w', newline='') as f:
        csv.writer(f).writerows([
            ['clip', 'file', 'label', 'start', 'end'],
            ['good', 'good.npy', 'a', '', ''], ['cut', 'good.npy', 'b', 2, 4],
            ['missing', 'missing.npy', 'a', '', ''],
            ['zero', 'zero.npy', 'a', '', ''], ['nan', 'nan.npy', 'a', '', ''],
            ['late', 'good.npy', 'a', 10, 12], ['two', 'two.npy', 'a', '', ''],
            ['flat', 'flat.npy', 'a', '', '']])
    out = tmp_path / 'store'
    res = arrays.convert_arrays(str(tmp_path), str(tmp_path / 'clips.csv'),
                                str(out), 'coco', axes='MTVC')
    assert res['kept'] == 2 and res['check'].ok
    assert res['skipped'].counts() == {
        'no file': 1, 'all zeros': 1, 'NaN': 1, 'empty frame range': 1,
        'shape differs': 1, 'shape mismatch': 1}
    reasons = {i['clip']: i['reason'] for i in res['skipped'].items}
    assert reasons['flat'] == (
        f'{tmp_path}/flat.npy: array of shape (6, 51) has 2 axes, the '
        'declared order MTVC has 4')
    assert 'clip nan, convention coco: NaN' in reasons['nan']
    assert 'clip two, convention coco: (M, V, C) = (2, 17, 3) differs' in \
        reasons['two']
    store = SkeletonStore(str(out))
    assert store.clip_names == ['good', 'cut'] and store.classes == ['a', 'b']
    assert [s['clip'] for s in store.skipped] == [
        'missing', 'zero', 'nan', 'late', 'two', 'flat']
    np.testing.assert_allclose(store.get(1, 'coco'), good[:, 2:5], rtol=1e-6)
    res = arrays.convert_arrays(str(tmp_path), str(tmp_path / 'clips.csv'),
                                str(out), 'coco', axes='MTVC', num_person=2)
    store = SkeletonStore(str(out))
    assert 'two' in store.clip_names and store.get(0, 'coco').shape[0] == 2
    assert not store.get(0, 'coco')[1].any()  # a zero person padded


def test_tools_take_layout_files(tmp_path):
    """import_mmaction_pkl and attach_convention resolve --layout through
    get_layout: a layout file works there without code of their own."""
    import pickle
    from msclr_plugin.data_prep.attach import attach_convention
    from msclr_plugin.data_prep.mmaction_pkl import import_mmaction_pkl
    (tmp_path / 'five.json').write_text(json.dumps(dict(
        name='five_joints', joint_names=['neck', 'shoulder_L', 'shoulder_R',
                                         'hand_L', 'hand_R'],
        edges=[['shoulder_L', 'neck'], ['shoulder_R', 'neck'],
               ['hand_L', 'shoulder_L'], ['hand_R', 'shoulder_R']],
        center='neck')))
    kp = np.random.default_rng(0).normal(size=(1, 4, 5, 3)).astype('f4')
    (tmp_path / 'a.pkl').write_bytes(pickle.dumps(dict(annotations=[
        dict(frame_dir='c0', label=0, keypoint=kp, total_frames=4)])))
    res = import_mmaction_pkl(str(tmp_path / 'a.pkl'), str(tmp_path / 's'),
                              layout=str(tmp_path / 'five.json'),
                              num_person=1, num_classes=1)
    store = SkeletonStore(str(tmp_path / 's'))
    assert res['kept'] == 1 and list(store.conventions) == ['five_joints']
    np.testing.assert_array_equal(store.get(0, 'five_joints'), kp)
    (tmp_path / 'files').mkdir()
    np.save(tmp_path / 'files' / 'c0.npy', kp[0] + 1)
    attach_convention(str(tmp_path / 's'), str(tmp_path / 'files'),
                      str(tmp_path / 't'), 'again',
                      str(tmp_path / 'five.json'))
    np.testing.assert_array_equal(
        SkeletonStore(str(tmp_path / 't')).get(0, 'again'), kp + 1)
    with pytest.raises(KeyError, match="no convention 'kinectv2_25' to "
                       'derive coco from'):
        attach_convention(str(tmp_path / 's'), None, str(tmp_path / 'u'),
                          'coco', 'coco', derive_from='kinectv2_25')
    with pytest.raises(ValueError, match='convention to derive from'):
        attach_convention(str(tmp_path / 's'), None, str(tmp_path / 'u'),
                          'coco', 'coco')


def test_msr_text_files_as_declared_arrays(shared_data, tmp_path):
    """MSR Action3D's own text files read as arrays (a line per joint and
    frame, 'TV C') with a user layout file in the file's joint order: the
    same store as the dedicated converter, COCO derived by joint names."""
    from msclr_plugin.data_prep.msr3d import convert_msr3d
    data = shared_data / MSR
    names = [f'a{a:02d}_s{s:02d}_e0{1 + ((a, s) == (13, 9))}' for a in (1, 13)
             for s in (1, 2, 9)]  # a13_s09_e02 is all zeros
    (tmp_path / 'list.txt').write_text('\n'.join(names) + '\n')
    ref = convert_msr3d(str(data), str(tmp_path / 'ref'),
                        protocol=str(tmp_path / 'list.txt'), derived=['coco'])
    layout = dict(get_layout('msr_action3d_20').to_dict(), name='msr_file_v1')
    del layout['roles']  # found from the Kinect v1 names
    (tmp_path / 'msr_file_v1.json').write_text(json.dumps(layout))
    with open(tmp_path / 'clips.csv', 'w', newline='') as f:
        csv.writer(f).writerows([['clip', 'label', 'subject']] + [
            [n, n[:3], n[5:7]] for n in names])
    _convert(['--data-dir', data, '--table', tmp_path / 'clips.csv',
              '--layout', tmp_path / 'msr_file_v1.json', '--pattern',
              '{clip}_skeleton3D.txt', '--axes', 'TV C', '--channels', 3,
              '--train-subjects', 1, 3, 5, 7, 9, '--derived', 'coco', '--out',
              tmp_path / 'mine'])
    ref, mine = SkeletonStore(str(tmp_path / 'ref')), SkeletonStore(
        str(tmp_path / 'mine'))
    assert mine.clip_names == ref.clip_names
    assert [s['clip'] for s in mine.skipped] == ['a13_s09_e02']
    assert mine.splits == ref.splits and mine.classes == ['a01', 'a13']
    assert mine.labels.tolist() == [int(n[1:3] == '13') for n in
                                    mine.clip_names]
    for i in range(len(ref)):
        np.testing.assert_array_equal(mine.get(i, 'msr_file_v1'),
                                      ref.get(i, 'msr_action3d_20'))
        np.testing.assert_allclose(mine.get(i, 'coco'), ref.get(i, 'coco'),
                                   atol=1e-6)


def _docs_files(root):
    """The files of the walk-through in docs/skeletons.md (code blocks whose
    first line is ``# my_kinect/<file>``), written under ``root``."""
    text = (ROOT / 'docs' / 'skeletons.md').read_text()
    files = {}
    for block in re.findall(r'```\w*\n(.*?)```', text, flags=re.S):
        first = block.splitlines()[0]
        match = re.fullmatch(r'# (my_kinect/\S+)', first)
        if match:
            files[match.group(1)] = block
            path = root / match.group(1)
            path.parent.mkdir(exist_ok=True)
            path.write_text(block)
    return files


def _kinect_v1_recordings(msr_dir, root, layout, subjects, actions):
    """Real MSR Action3D recordings rewritten as the walk-through's raw data:
    per subject one file of ``frame x1 y1 z1 ... x20 y20 z20`` lines (Kinect
    SDK v1 order) holding several actions with idle frames between them, a
    clip table with their frame ranges; and the same clips as per-clip
    ``(T, V, C)`` arrays with a JSON table. Returns the clips' arrays."""
    from msclr_plugin.data_prep.msr3d import read_msr_file
    msr = get_layout('msr_action3d_20')
    to_v1 = [msr.index(n) for n in get_layout(layout).joint_names]
    (root / 'raw').mkdir()
    (root / 'npy').mkdir()
    table, json_table, clips = [], {}, {}
    for s in subjects:
        lines, frame = [], 100
        for a in actions:
            kp = read_msr_file(str(msr_dir / f'a{a:02d}_s{s:02d}_e01'
                                   '_skeleton3D.txt'))[0][:, to_v1]
            clip = f's{s:02d}_e01_a{a:02d}'
            for pose in [kp[0]] * 4 + list(kp) + [kp[-1]] * 3:  # idle frames
                lines.append(' '.join([str(frame)] +
                                      [f'{v:.6f}' for v in pose.ravel()]))
                frame += 1
            table.append([clip, f's{s:02d}_e01', f'a{a:02d}', s,
                          frame - 3 - len(kp), frame - 4])
            np.save(root / 'npy' / f'{clip}.npy', kp)
            json_table[clip] = dict(label=f'a{a:02d}', subject=s,
                                    split='xsub_train' if s % 2 else
                                    'xsub_val')
            clips[clip] = kp
        (root / 'raw' / f'joints_s{s:02d}_e01.txt').write_text(
            '\n'.join(lines) + '\n')
    with open(root / 'my_kinect' / 'clips.csv', 'w', newline='') as f:
        csv.writer(f).writerows(
            [['clip', 'file', 'label', 'subject', 'start', 'end']] + table)
    (root / 'clips.json').write_text(json.dumps(json_table))
    return clips


def test_walkthrough_without_python(shared_data, tmp_path):
    """The done-when of issue 16: a small Kinect v1 dataset in both raw forms
    (per-frame text rows with frame ranges; per-clip arrays with a table)
    and the layout FILE of docs/skeletons.md is converted with the tool,
    COCO is derived by joint names, and the documented configs pretrain a few
    steps and run the linear probe in fresh processes."""
    from msclr_plugin.data_prep.attach import attach_convention
    files = _docs_files(tmp_path)
    assert set(files) == {'my_kinect/kinect_v1_20.yaml', 'my_kinect/ms_aimclr.py',
                          'my_kinect/linear.py'}
    layout_file = tmp_path / 'my_kinect' / 'kinect_v1_20.yaml'
    clips = _kinect_v1_recordings(shared_data / MSR, tmp_path,
                                  str(layout_file), (1, 2, 3, 4),
                                  (8, 10, 12, 14, 17))
    stores = tmp_path / 'data' / 'stores'
    # the documented command, on the text rows
    _convert(['--data-dir', tmp_path / 'raw', '--table',
              tmp_path / 'my_kinect' / 'clips.csv', '--pattern',
              'joints_{file}.txt', '--columns', 'frame VC', '--layout',
              layout_file, '--derived', 'coco', '--train-subjects', 1, 3, 5,
              7, 9, '--out', stores / 'my_kinect'])
    # the per-clip arrays, COCO attached afterwards by joint names
    _convert(['--data-dir', tmp_path / 'npy', '--table',
              tmp_path / 'clips.json', '--layout', layout_file, '--axes',
              'TVC', '--out', tmp_path / 'arrays'])
    attach_convention(str(tmp_path / 'arrays'), None, str(tmp_path / 'both'),
                      'coco', 'coco', derive_from='kinect_v1_20')
    rows, both = (SkeletonStore(str(p)) for p in (stores / 'my_kinect',
                                                  tmp_path / 'both'))
    assert rows.clip_names == both.clip_names == list(clips)
    assert rows.splits == both.splits == dict(
        xsub_train=[0, 1, 2, 3, 4, 10, 11, 12, 13, 14],
        xsub_val=[5, 6, 7, 8, 9, 15, 16, 17, 18, 19])
    assert rows.labels.tolist() == both.labels.tolist() == [0, 1, 2, 3, 4] * 4
    to_coco = JointRegressor.between('msr_action3d_20', 'coco')
    msr = get_layout('msr_action3d_20')
    from_v1 = [get_layout('kinect_v1_20').index(n) for n in msr.joint_names]
    for i, kp in enumerate(clips.values()):
        # the frame range cut exactly the action (6-decimal text)
        np.testing.assert_allclose(rows.get(i, 'kinect_v1_20')[0], kp,
                                   atol=1e-6)
        np.testing.assert_array_equal(both.get(i, 'kinect_v1_20')[0], kp)
        np.testing.assert_allclose(rows.get(i, 'coco')[0],
                                   to_coco(kp[:, from_v1]), atol=1e-5)
        np.testing.assert_allclose(both.get(i, 'coco'), rows.get(i, 'coco'),
                                   atol=1e-5)
    # the store holds the whole user layout: any process reopens it
    index = json.loads((stores / 'my_kinect' / 'index.json').read_text())
    assert index['conventions']['kinect_v1_20']['layout'] == \
        get_layout('kinect_v1_20').to_dict()

    # fresh processes, in a folder laid out like the repository's root
    os.symlink(ROOT / 'configs', tmp_path / 'configs')
    env = repo_env()

    def tool(*argv):
        run = subprocess.run([sys.executable, str(ROOT / 'tools' / argv[0]),
                              *map(str, argv[1:])], cwd=tmp_path, env=env,
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        return run.stdout + run.stderr

    # step 4 of the walk-through: a tool that knows the layout only from
    # the store
    assert 'wrote walk.png' in tool(
        'analysis/draw_skeletons.py', '--store', 'data/stores/my_kinect',
        '--clip', 's01_e01_a08', '--out-png', 'walk.png')
    tool('train.py', 'my_kinect/ms_aimclr.py', '--work-dir', 'work/pre',
         '--seed', '0', '--cfg-options', 'train_cfg.max_epochs=1',
         'train_dataloader.batch_size=4')
    import torch
    state = torch.load(tmp_path / 'work' / 'pre' / 'epoch_1.pth',
                       weights_only=True)['state_dict']
    assert 'backbone.data_bn.kinect_v1_20.running_mean' in state
    assert int(state['queue_ptr']) > 0  # it trained
    # the probe, validated on the test split at its end (what tools/test.py
    # prints; one process less)
    log = tool('train.py', 'my_kinect/linear.py', '--work-dir', 'work/linear',
               '--seed', '0', '--cfg-options', 'train_cfg.max_epochs=1',
               'train_cfg.val_begin=1', 'train_dataloader.batch_size=4',
               'model.backbone.init_cfg.checkpoint=work/pre/epoch_1.pth')
    top1 = re.search(r'Epoch\(val\).*acc/top1_kinect_v1_20: ([0-9.]+)', log)
    assert top1 is not None, log[-3000:]
    # 10 test clips of 5 classes: a multiple of 1/10
    assert 0 <= float(top1.group(1)) <= 1
    assert round(float(top1.group(1)) * 10, 3) % 1 == 0
