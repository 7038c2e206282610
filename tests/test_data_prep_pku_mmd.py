"""PKU-MMD converter on fixtures in the dataset's own file formats, written
at test time: skeleton lines of 150 values (2 bodies x 25 joints x 3; the
first body from the real NTU sample clip, the second absent), label lines
``label,start,end,confidence``, official split lists."""
import json

import numpy as np
import pytest

from msclr_plugin.data_prep import ConversionError
from msclr_plugin.data_prep.ntu import load_clip
from msclr_plugin.data_prep.pku_mmd import (convert_pku_mmd, read_labels,
                                            read_skeleton_txt, read_split_file)
from msclr_plugin.datasets.store import SkeletonStore

from .conftest import SHARED_DATA, load_tool

SPLIT = 'Training videos: \n{train}\nValidataion videos: \n{val}\n'


def write_skeleton(path, body, second=None):
    """``(T, 25, 3)`` body (and an optional second) as PKU lines."""
    frames = []
    for t in range(len(body)):
        other = np.zeros((25, 3)) if second is None else second[t]
        frames.append(' '.join(f'{v:.6f}' for v in np.concatenate(
            [body[t].ravel(), other.ravel()])))
    # the dataset's files start every line after the first with a space
    path.write_text('\n '.join(frames) + '\n')


def write_labels(path, rows):
    path.write_text(''.join(f'{a},{s},{e},{c}\n' for a, s, e, c in rows))


@pytest.fixture
def pku(tmp_path):
    sample = SHARED_DATA / 'ntu_sample' / 'S001C001P001R001A001.skeleton'
    kinect = load_clip(str(sample))[0] if sample.is_file() else \
        np.random.default_rng(0).normal(size=(103, 25, 3)).astype(np.float32)
    skel, label = tmp_path / 'skeleton', tmp_path / 'label'
    skel.mkdir()
    label.mkdir()
    write_skeleton(skel / '0002-L.txt', kinect)
    write_labels(label / '0002-L.txt', [(5, 10, 40, 1), (12, 40, 103, 2),
                                        (3, 90, 120, 1),    # runs past the end
                                        (7, 60, 60, 1),     # empty
                                        (52, 0, 10, 1)])    # no such class
    write_skeleton(skel / '0002-M.txt', kinect[::-1], second=kinect + 1)
    write_labels(label / '0002-M.txt', [(1, 0, 50, 1)])
    zero = kinect.copy()
    zero[20:30] = 0
    write_skeleton(skel / 'A01N01-R.txt', zero)  # a Phase II name
    write_labels(label / 'A01N01-R.txt', [(51, 20, 30, 1), (51, 0, 25, 1)])
    write_skeleton(skel / '0003-L.txt', kinect[:5])  # no label file
    (tmp_path / 'xsub.txt').write_text(SPLIT.format(
        train='0002-L, 0002-M, ', val='A01N01-R, 0003-L'))
    (tmp_path / 'xview.txt').write_text(SPLIT.format(
        train='0002-M, A01N01-R', val='0002-L'))
    return tmp_path, kinect


def test_convert_real_format(pku):
    root, kinect = pku
    res = convert_pku_mmd(str(root / 'skeleton'), str(root / 'label'),
                          str(root / 'store'),
                          split_files={'xsub': str(root / 'xsub.txt'),
                                       'xview': str(root / 'xview.txt')})
    store = SkeletonStore(str(root / 'store'))
    assert store.clip_names == ['0002-L_00', '0002-L_01', '0002-L_02',
                                '0002-M_00', 'A01N01-R_01']
    assert list(store.labels) == [4, 11, 2, 0, 50]
    assert list(store.num_frames('kinectv2_25')) == [30, 63, 13, 50, 25]
    # rows start..end-1, body 0 in its slot, the absent body zero
    clip = store.get(0, 'kinectv2_25')
    assert clip.shape == (2, 30, 25, 3)
    np.testing.assert_allclose(clip[0], kinect[10:40], atol=1e-6)
    assert not clip[1].any()
    two = store.get(3, 'kinectv2_25')
    np.testing.assert_allclose(two[0], kinect[::-1][:50], atol=1e-6)
    np.testing.assert_allclose(two[1], kinect[:50] + 1, atol=1e-5)
    counts = res['skipped'].counts()
    assert counts == {'empty interval': 1, 'label out of range': 1, 'all zeros': 1,
                      'no label file': 1}
    index = json.loads((root / 'store' / 'index.json').read_text())
    assert index['meta']['truncated'] == ['0002-L_02']
    assert store.splits == {'xsub_train': [0, 1, 2, 3], 'xsub_val': [4],
                            'xview_train': [3, 4], 'xview_val': [0, 1, 2]}
    assert len(store.classes) == 51


def test_corrupt_inputs_are_named(pku, tmp_path):
    root, kinect = pku
    lines = (root / 'skeleton' / '0002-M.txt').read_text().splitlines()
    lines[7] = ' '.join(lines[7].split()[:-1])  # 149 values
    (root / 'skeleton' / '0002-M.txt').write_text('\n'.join(lines))
    with pytest.raises(ConversionError, match='0002-M.txt: line 8 has 149 values'):
        read_skeleton_txt(str(root / 'skeleton' / '0002-M.txt'))
    (root / 'label' / 'A01N01-R.txt').write_text('51,20,30,1\n51;0;25;1\n')
    with pytest.raises(ConversionError, match='A01N01-R.txt: line 2 is not'):
        read_labels(str(root / 'label' / 'A01N01-R.txt'))
    res = convert_pku_mmd(str(root / 'skeleton'), str(root / 'label'),
                          str(tmp_path / 'out'))
    assert res['skipped'].counts()['corrupt file'] == 2
    assert res['kept'] == 3  # 0002-L's clips
    (tmp_path / 'bad.txt').write_text('0002-L, 0002-M\n')
    with pytest.raises(ValueError, match='bad.txt: names before'):
        read_split_file(str(tmp_path / 'bad.txt'))
    (tmp_path / 'both.txt').write_text(SPLIT.format(train='0002-L', val='0002-L'))
    with pytest.raises(ValueError, match="both parts: \\['0002-L'\\]"):
        read_split_file(str(tmp_path / 'both.txt'))


def test_estimated_convention_and_tool(pku, tmp_path):
    root, kinect = pku
    est = tmp_path / 'est'
    est.mkdir()
    # an estimate of the same people, 2 cm off, in the store's frame; layout
    # 'nturgb+d' (the Kinect v2 joints under another name) so the store
    # checker compares real bodies
    noise = np.random.default_rng(0).normal(0, 0.005, size=(2, 103, 25, 3))
    people = {'0002-L': (kinect, np.zeros_like(kinect)),
              '0002-M': (kinect[::-1], kinect + 1)}
    for video, (first, second) in people.items():
        estimate = np.stack([first, second]) + 0.02 + noise
        estimate[~np.stack([first, second]).any(axis=(2, 3))] = 0
        np.savez(est / f'{video}.npz', **{'nturgb+d': estimate.astype(np.float32)})
    np.savez(est / 'A01N01-R.npz',
             **{'nturgb+d': np.ones((2, 90, 25, 3), np.float32)})
    tool = load_tool('data/pku_mmd_to_store')
    code = tool.main(['--skeletons-dir', str(root / 'skeleton'), '--labels-dir',
                      str(root / 'label'), '--out', str(tmp_path / 'store'),
                      '--split', f'xsub={root / "xsub.txt"}',
                      '--estimated', f'nturgb+d={est}'])
    assert code == 0  # the store check passed: the conventions agree
    index = json.loads((tmp_path / 'store' / 'index.json').read_text())
    # A01N01-R's file has 90 frames, its skeletons 103: its clips are left out
    assert [s['kind'] for s in index['skipped']].count('bad estimated file') == 1
    store = SkeletonStore(str(tmp_path / 'store'))
    assert list(store.conventions) == ['kinectv2_25', 'nturgb+d']
    clip = store.get(store.clip_names.index('0002-L_01'), 'nturgb+d')
    full = np.load(est / '0002-L.npz')['nturgb+d']
    np.testing.assert_array_equal(clip, full[:, 40:103])
    assert list(store.num_frames('nturgb+d')) == list(store.num_frames('kinectv2_25'))
    # an estimate in other units fails the check: exit status 1
    np.savez(est / '0002-L.npz', **{'nturgb+d': full * 1000})
    np.savez(est / '0002-M.npz',
             **{'nturgb+d': np.load(est / '0002-M.npz')['nturgb+d'] * 1000})
    assert tool.main(['--skeletons-dir', str(root / 'skeleton'), '--labels-dir',
                      str(root / 'label'), '--out', str(tmp_path / 'mm'),
                      '--estimated', f'nturgb+d={est}']) == 1
