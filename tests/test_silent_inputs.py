"""The last silent inputs (issue 22), each refused or skipped and counted
with a message naming store, convention and clip; store checks that do not
refuse valid data (small stores, conventions derived from one source)."""
import json
import pickle
import shutil
import subprocess
import sys
import zlib

import numpy as np
import pytest

from msclr_plugin.data_prep import arrays, bvh, msr3d
from msclr_plugin.data_prep.common import ConversionError
from msclr_plugin.data_prep.mmaction_pkl import import_mmaction_pkl
from msclr_plugin.data_prep.upgrade import upgrade_store
from msclr_plugin.datasets import MultiSkeletonDataset, SkeletonStore, check_store
from msclr_plugin.datasets.store_check import fix_hint
from .conftest import ROOT
from .test_store_check import _body, _edit_index, _store

MSR_FILES = 9


@pytest.fixture(scope='module')
def msr_subset(tmp_path_factory):
    """The first 9 MSR Action3D files (real data, unmodified)."""
    from .conftest import SHARED_DATA
    src = SHARED_DATA / 'msr_action3d' / 'real_world_coordinates'
    if not src.is_dir():
        pytest.skip(f'real data folder {src} is absent')
    files = tmp_path_factory.mktemp('msr')
    for path in sorted(src.glob('*_skeleton3D.txt'))[:MSR_FILES]:
        (files / path.name).symlink_to(path)
    return files


def _msr_store(msr_subset, out, num):
    data = out.parent / f'{out.name}_in'
    data.mkdir()
    for path in sorted(msr_subset.iterdir())[:num]:
        (data / path.name).symlink_to(path.resolve())
    return msr3d.convert_msr3d(str(data), str(out), derived=['kinectv2_25', 'coco'])


@pytest.mark.parametrize('num', [1, 2, MSR_FILES])
def test_small_msr_stores_with_derived_conventions_pass(msr_subset, tmp_path, num):
    """Valid data is never refused: conventions regressed from the same file
    are in one frame by construction, whatever a handful of clips measure."""
    res = _msr_store(msr_subset, tmp_path / 's', num)
    assert res['kept'] == num and res['check'].ok, res['check'].format()
    assert 'msr_action3d_20, kinectv2_25, coco: computed from msr_action3d_20' \
        in res['check'].format()
    ds = MultiSkeletonDataset(str(tmp_path / 's'), split='xsub_train' if num > 1
                              else None, mode='all', validate=True)
    assert ds.num_skipped == 0 and len(ds) > 0


def _edit_clip(store, conv, clip, edit):
    """Change a stored clip with ``edit(frames)`` (in place) and record the
    new bytes' CRC, as a writer that stored bad values would."""
    off = np.load(f'{store}/{conv}_offsets.npy')
    data = np.load(f'{store}/{conv}.npy', mmap_mode='r+')
    edit(data[off[clip]:off[clip + 1]])
    data.flush()
    _recrc(store, conv, [clip])


def _recrc(store, conv, clips):
    off = np.load(f'{store}/{conv}_offsets.npy')
    data = np.load(f'{store}/{conv}.npy', mmap_mode='r')
    table = np.load(f'{store}/{conv}_clips.npy')
    with open(f'{store}/index.json') as f:
        names = json.load(f)['clip_names']
    for i in clips:
        table['frames'][i] = off[i + 1] - off[i]
        table['crc32'][i] = zlib.crc32(
            np.ascontiguousarray(data[off[i]:off[i + 1]]).data,
            zlib.crc32(names[i].encode()))
    np.save(f'{store}/{conv}_clips.npy', table)


def _zero_frames(store, conv, clip):
    """Clip ``clip`` of ``conv`` left with no frame (its frames go to the
    next clip), identity recorded."""
    off = np.load(f'{store}/{conv}_offsets.npy')
    off[clip + 1] = off[clip]
    np.save(f'{store}/{conv}_offsets.npy', off)
    _recrc(store, conv, [clip, clip + 1])


def _joint(value):
    def edit(frames):
        frames[len(frames) // 2, 0, 3] = value
    return edit


BAD = {
    'NaN': (lambda s, c, i: _edit_clip(s, c, i, _joint(np.nan)), 'NaN or infinite'),
    'inf': (lambda s, c, i: _edit_clip(s, c, i, _joint(np.inf)), 'NaN or infinite'),
    'all zeros': (lambda s, c, i: _edit_clip(s, c, i, lambda f: f.fill(0)),
                  'all coordinates are zero'),
    'zero frames': (_zero_frames, 'zero frames'),
    '1e30': (lambda s, c, i: _edit_clip(s, c, i, _joint(1e30)),
             'coordinate of 1e\\+30'),
    'far joint': (lambda s, c, i: _edit_clip(s, c, i, _joint(80.0)),
                  'from the body centre|long'),
}


@pytest.mark.parametrize('kind', list(BAD))
def test_bad_clip_is_refused_or_skipped_and_counted(msr_subset, tmp_path, kind):
    """One bad clip of a valid 9-clip store (its CRC recomputed, so the store
    opens): reading it, validating and checking name store, convention and
    clip; validate=True with on_missing='skip' drops that clip alone."""
    res = _msr_store(msr_subset, tmp_path / 's', MSR_FILES)
    store = str(tmp_path / 's')
    name = res['check'] and SkeletonStore(store).clip_names[4]
    corrupt, message = BAD[kind]
    corrupt(store, 'coco', 4)
    where = rf'{store}.*clip {name}, convention coco: .*({message})'
    ds = MultiSkeletonDataset(store, mode='all')
    with pytest.raises(ValueError, match=where):  # never reaches the model
        ds.get_data_info(4)
    with pytest.raises(ValueError, match=where):
        MultiSkeletonDataset(store, mode='all', validate=True)
    kept = MultiSkeletonDataset(store, mode='all', validate=True, on_missing='skip')
    assert kept.num_skipped == 1 and len(kept) == MSR_FILES - 1
    assert name not in kept.clip_names
    report = check_store(store)
    assert not report.ok and list(report.bad_clips) == [4]
    assert f'clip {name}, convention coco' in report.bad_clips[4]


def test_range_check_in_converters(tmp_path):
    """Arrays of no body are counted skips of the converter."""
    rng = np.random.default_rng(0)
    for i in range(3):
        kp = _body(rng, 8)[0]
        if i == 1:
            kp[4, 7] = 1e30  # one joint of one frame
        np.save(tmp_path / f'c{i}.npy', kp)
    table = tmp_path / 'clips.csv'
    table.write_text('clip,label\nc0,a\nc1,b\nc2,a\n')
    res = arrays.convert_arrays(str(tmp_path), str(table), str(tmp_path / 's'),
                                'kinectv2_25')
    assert res['kept'] == 2 and res['skipped'].counts() == {'out of range': 1}
    reason = res['skipped'].items[0]['reason']
    assert 'c1.npy, clip c1, convention kinectv2_25' in reason
    assert 'coordinate of 1e+30' in reason


@pytest.fixture
def bandai_one(shared_data, tmp_path):
    """A copy of one Bandai dataset (its cfg/ and one clip)."""
    src = shared_data / 'bandai_namco_motion2_subset'
    root = tmp_path / 'bandai'
    shutil.copytree(src / 'cfg', root / 'cfg')
    (root / 'data').mkdir()
    name = 'dataset-2_walk_active_001'
    for ext in ('.bvh', '.json'):
        shutil.copy(src / 'data' / (name + ext), root / 'data' / (name + ext))
    return root, name


def test_one_bandai_file_passes_its_check(bandai_one, tmp_path):
    root, _ = bandai_one
    res = bvh.convert_bandai(str(root), str(tmp_path / 's'))
    assert res['kept'] == 1 and res['check'].ok, res['check'].format()


def test_bvh_angle_of_no_motion_is_refused_and_no_empty_store(bandai_one, tmp_path):
    root, name = bandai_one
    path = root / 'data' / f'{name}.bvh'
    head, motion = path.read_text().split('Frame Time:')
    lines = motion.split('\n')
    values = lines[1].split()
    values[10] = '1e300'  # joint 1 (of 6 channels each): a rotation
    lines[1] = ' '.join(values)
    path.write_text(head + 'Frame Time:' + '\n'.join(lines))
    with pytest.raises(ConversionError, match=rf'{name}.bvh: frame 0, joint '
                       r'\w+: [XYZ]rotation 1e\+300 degrees'):
        bvh.BVH(str(path))
    res = bvh.convert_bandai(str(root), str(tmp_path / 's'))
    assert res['kept'] == 0 and res['skipped'].counts() == {'ConversionError': 1}
    assert res['index'] is None and not (tmp_path / 's').exists()
    assert 'no clips kept, no store written' in res['check'].format()


def test_overlapping_splits_refused_for_training(tmp_path):
    root = _store(tmp_path / 's')
    _edit_index(root, splits={'train': [0, 1], 'val': [1, 2, 3]})
    with pytest.raises(ValueError, match=rf'{root}: not trained on: splits '
                       'train and val share 1 clips \\(e.g. b\\)'):
        MultiSkeletonDataset(root, split='train', mode='all')
    # evaluating a split stays possible; the checker says what is wrong
    assert len(MultiSkeletonDataset(root, split='val', mode='all', test_mode=True)) == 3
    assert 'splits train and val share 1 clips' in ' '.join(check_store(root).errors)


@pytest.mark.parametrize('path', ['../elsewhere.npy', '/tmp/k.npy', 'sub/k.npy'])
def test_data_paths_stay_in_the_store(tmp_path, path):
    root = _store(tmp_path / 's')
    with open(f'{root}/index.json') as f:
        conventions = json.load(f)['conventions']
    conventions['copy']['data'] = path
    _edit_index(root, conventions=conventions)
    with pytest.raises(ValueError, match=rf'{root}/index.json: convention copy: '
                       'data .* is not a file name inside the store'):
        SkeletonStore(root)


def test_malformed_layout_names_store_and_convention(tmp_path):
    root = _store(tmp_path / 's')
    with open(f'{root}/index.json') as f:
        conventions = json.load(f)['conventions']
    layout = conventions['copy']['layout']
    conventions['copy']['layout'] = dict(layout, name='renamed_layout',
                                         edges=[[0, 99]])
    _edit_index(root, conventions=conventions)
    with pytest.raises(ValueError, match=rf'{root}: convention copy: malformed '
                       "layout 'renamed_layout'"):
        SkeletonStore(root)


def _version_1(root):
    with open(f'{root}/index.json') as f:
        conventions = json.load(f)['conventions']
    for spec in conventions.values():
        del spec['clips']
    _edit_index(root, version=1, conventions=conventions)


def test_version_1_refused_for_training_until_upgraded(tmp_path):
    root = _store(tmp_path / 's', frames=7)
    _version_1(root)
    with pytest.raises(ValueError, match=rf'{root}: store version 1 records no '
                       'clip identity.*python tools/data/upgrade_store.py '
                       rf'{root} --out {root}_v2'):
        MultiSkeletonDataset(root, split='train', mode='all')
    assert len(MultiSkeletonDataset(root, split='val', mode='all', test_mode=True)) == 2
    res = upgrade_store(root, f'{root}_v2')
    assert res['check'].ok and res['kept'] == 4
    ds = MultiSkeletonDataset(f'{root}_v2', split='train', mode='all')
    old = SkeletonStore(root)
    assert np.array_equal(ds.load_skeleton(1, 'copy'), old.get(1, 'copy'))


def test_version_1_with_swapped_clips_is_not_upgraded(tmp_path):
    from msclr_plugin.datasets import SkeletonStoreWriter
    rng = np.random.default_rng(0)
    root = str(tmp_path / 's')
    with SkeletonStoreWriter(root, {'k': 'kinectv2_25', 'copy': 'kinectv2_25'}) as w:
        for i, frames in enumerate((5, 6, 7)):
            kp = _body(rng, frames)
            w.add(f'c{i}', 0, {'k': kp, 'copy': kp})
    # clips 0 and 1 of 'copy' swapped: the offsets follow the data
    off = np.load(f'{root}/copy_offsets.npy')
    data = np.load(f'{root}/copy.npy')
    np.save(f'{root}/copy.npy', np.concatenate([data[5:11], data[:5], data[11:]]))
    np.save(f'{root}/copy_offsets.npy', np.array([0, 6, 11, off[-1]]))
    _version_1(root)
    with pytest.raises(ValueError, match=rf'{root}: clip c0 has different frame '
                       r'counts per convention \(k 5, copy 6; 2 clips differ\)'):
        upgrade_store(root, f'{root}_v2')
    assert not (tmp_path / 's_v2').exists()


def test_negative_label_message(tmp_path):
    kp = _body(np.random.default_rng(0), 6)
    pkl = tmp_path / 'a.pkl'
    pkl.write_bytes(pickle.dumps(dict(annotations=[
        dict(frame_dir='x', label=-1, keypoint=kp),
        dict(frame_dir='y', label=0, keypoint=kp)])))
    res = import_mmaction_pkl(str(pkl), str(tmp_path / 's'), num_person=1)
    reason = res['skipped'].items[0]['reason']
    assert 'clip x' in reason and 'label -1 is not a class index' in reason
    assert 'None' not in reason


def _rows(path, kp, frames, cut=None):
    lines = [' '.join([str(f)] + [f'{v:.4f}' for v in kp[0, t].ravel()])
             for t, f in enumerate(frames)]
    if cut is not None:
        lines[cut] = ' '.join(lines[cut].split()[:40])
    path.write_text('\n'.join(lines) + '\n')


def test_arrays_frame_ranges_repeated_frames_and_ragged_rows(tmp_path):
    rng = np.random.default_rng(1)
    kp = _body(rng, 10)
    _rows(tmp_path / 'rec.txt', kp, [0, 1, 1, 2, 3, 4, 5, 5, 6, 6])
    _rows(tmp_path / 'cut.txt', kp, range(10), cut=6)
    table = tmp_path / 'clips.csv'
    table.write_text('clip,label,file,start,end\n'
                     'a,walk,rec.txt,0,3\nb,walk,rec.txt,nan,nan\n'
                     'c,run,rec.txt,4,6\nd,run,cut.txt,,\n')
    common = dict(layout='kinectv2_25', columns='frame VC')
    res = arrays.convert_arrays(str(tmp_path), str(table), str(tmp_path / 'drop'),
                                **common)
    assert res['kept'] == 2 and res['repeated_frames'] == {'a': 1, 'c': 2}
    assert res['skipped'].counts() == {'unusable frame range': 1,
                                       'bad text file': 1}
    reasons = {s['clip']: s['reason'] for s in res['skipped'].items}
    assert "line 3: start/end 'nan', 'nan' are not two frame numbers" in reasons['b']
    assert 'cut.txt: line 7 has 40 values, the lines before it 76: a row cut ' \
        'short' in reasons['d'] and 'usecols' not in reasons['d']
    store = SkeletonStore(str(tmp_path / 'drop'))
    assert store.num_frames('kinectv2_25').tolist() == [4, 3]
    assert store.index['meta']['duplicate_frames'] == dict(policy='drop', clips=2,
                                                           rows=3)
    kept = arrays.convert_arrays(str(tmp_path), str(table), str(tmp_path / 'keep'),
                                 duplicate_frames='keep', **common)
    assert SkeletonStore(str(tmp_path / 'keep')).num_frames(
        'kinectv2_25').tolist() == [5, 5]
    assert kept['repeated_frames'] == {'a': 1, 'c': 2}
    refused = arrays.convert_arrays(str(tmp_path), str(table), str(tmp_path / 'err'),
                                    duplicate_frames='error', **common)
    assert refused['kept'] == 0
    assert refused['skipped'].counts()['repeated frame numbers'] == 2


def test_fix_hints_name_only_the_tools_options():
    msr = dict(tool='tools/data/msr3d_to_store.py', options=['--preprocess'])
    attach = dict(tool='tools/data/attach_convention.py',
                  options=['--preprocess', '--scale', '--up', '--mirror'])
    hint = fix_hint('torso', [msr, msr])
    assert '--scale' not in hint.split('arrays_to_store.py')[0]
    assert 'tools/data/msr3d_to_store.py read their sources in fixed' in hint
    hint = fix_hint('facing', [msr, attach])
    assert '--mirror (tools/data/attach_convention.py)' in hint
    assert 'msr3d_to_store.py' not in hint
    assert fix_hint('centre', [msr, msr]).endswith(
        'normalise with --preprocess center, aimclr or body '
        '(tools/data/msr3d_to_store.py)')


def test_mmcv_lite_warning_silenced_alone():
    out = subprocess.run([sys.executable, 'tools/train.py', '--help'], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith('usage:')
    assert out.stderr == '', out.stderr
    # that message from that module is ignored, nothing else
    code = ('import warnings, msclr_plugin\n'
            'for msg, mod in [("Fail to import ``MultiScaleDeformableAttention`` '
            'from x", "mmcv.cnn.bricks.transformer"), ("another", '
            '"mmcv.cnn.bricks.transformer"), ("Fail to import '
            '``MultiScaleDeformableAttention``", "elsewhere")]:\n'
            '    warnings.warn_explicit(msg, UserWarning, "f.py", 1, module=mod)')
    out = subprocess.run([sys.executable, '-c', code], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    shown = [line for line in out.stderr.splitlines() if 'UserWarning' in line]
    assert shown == ['f.py:1: UserWarning: another',
                     'f.py:1: UserWarning: Fail to import '
                     '``MultiScaleDeformableAttention``']
