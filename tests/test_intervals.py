"""The clip table from per-sequence interval files (``--intervals`` of
tools/data/arrays_to_store.py, msclr_plugin.data_prep.intervals)."""
import csv

import numpy as np
import pytest

from msclr_plugin.data_prep.intervals import read_intervals, write_clip_table
from msclr_plugin.datasets.store import SkeletonStore

from .test_arrays_to_store import MSR, _convert, _docs_files, _kinect_v1_recordings


def test_interval_files_read(tmp_path):
    labels = tmp_path / 'labels'
    labels.mkdir()
    # PKU-MMD style: label,start,end,confidence with a header
    (labels / '0002-L.txt').write_text('label,start,end,confidence\n'
                                       '41,1,120,1\n\n# a comment\n8,130,250,2\n')
    (labels / '0003-M.txt').write_text('12,5,90,1\n')
    (labels / 'notes.md').write_text('not an interval file')
    rows = read_intervals(str(labels / '{file}-{view}.txt'),
                          'label start end confidence', offset=-1)
    assert [r['clip'] for r in rows] == ['0002-L_1', '0002-L_2', '0003-M_1']
    assert rows[0] == dict(file='0002', view='L', label='41', start=0, end=119,
                           confidence='1', clip='0002-L_1')
    assert [(r['start'], r['end']) for r in rows[1:]] == [(129, 249), (4, 89)]
    # "_" drops a value; clip names from any field
    rows = read_intervals(str(labels / '{file}-{view}.txt'),
                          'label start end _', clip='{file}{view}_{label}')
    assert [r['clip'] for r in rows] == ['0002L_41', '0002L_8', '0003M_12']
    assert 'confidence' not in rows[0] and '_' not in rows[0]
    # UTKinect-like "walk: 252 390" lines (default delimiters)
    (tmp_path / 's01_e01.txt').write_text('walk: 252 390\nsitDown: 572 686\n')
    rows = read_intervals(str(tmp_path / 's{subject}_e{take}.txt'),
                          clip='s{subject}_e{take}_{label}')
    assert [(r['clip'], r['subject'], r['start']) for r in rows] == [
        ('s01_e01_walk', '01', 252), ('s01_e01_sitDown', '01', 572)]
    table = write_clip_table(rows, str(tmp_path / 'out' / 'clips.csv'))
    with open(table) as f:
        assert next(csv.reader(f)) == ['clip', 'subject', 'take', 'label',
                                       'start', 'end']


@pytest.mark.parametrize('text,columns,match', [
    ('walk 10\n', 'label start end', r'x\.txt, line 1: 2 values'),
    ('walk 10 5\n', 'label start end', 'start 10 > end 5'),
    ('walk 1 2\nrun a b\n', 'label start end', r'line 2: start .a. / end'),
    ('walk 1 2\n', 'label start', 'no end'),
    ('\n# nothing\n', 'label start end', 'no intervals'),
])
def test_interval_errors_name_file_and_line(tmp_path, text, columns, match):
    (tmp_path / 'x.txt').write_text(text)
    with pytest.raises(ValueError, match=match):
        read_intervals(str(tmp_path / '{file}.txt'), columns)


def test_interval_pattern_and_clip_errors(tmp_path):
    with pytest.raises(ValueError, match='no interval file matches'):
        read_intervals(str(tmp_path / '{file}.txt'))
    (tmp_path / 'a.txt').write_text('walk 1 2\nwalk 3 4\n')
    with pytest.raises(ValueError, match="clip name 'a_walk' also made by"):
        read_intervals(str(tmp_path / '{file}.txt'), clip='{file}_{label}')


def test_store_from_intervals_equals_store_from_table(shared_data, tmp_path):
    """Real MSR Action3D recordings laid out as long Kinect v1 recordings
    (the walk-through's raw data), the action frame ranges given once as the
    walk-through's clip table and once as one interval file per recording:
    the same store."""
    _docs_files(tmp_path)
    layout = tmp_path / 'my_kinect' / 'kinect_v1_20.yaml'
    # the walk-through test's clips (its store check passes on them)
    _kinect_v1_recordings(shared_data / MSR, tmp_path, str(layout), (1, 2, 3, 4),
                          (8, 10, 12, 14, 17))
    labels = tmp_path / 'labels'
    labels.mkdir()
    with open(tmp_path / 'my_kinect' / 'clips.csv') as f:
        for row in csv.DictReader(f):
            with open(labels / f'{row["file"]}.txt', 'a') as out:
                out.write(f'{row["label"]} {row["start"]} {row["end"]}\n')
    common = ['--data-dir', tmp_path / 'raw', '--columns', 'frame VC',
              '--layout', layout, '--derived', 'coco', '--train-subjects', 1, 3]
    _convert(['--table', tmp_path / 'my_kinect' / 'clips.csv', '--pattern',
              'joints_{file}.txt', '--out', tmp_path / 'from_table', *common])
    _convert(['--intervals', str(labels / 's{subject}_e{take}.txt'),
              '--clip-name', 's{subject}_e{take}_{label}', '--pattern',
              'joints_s{subject}_e{take}.txt', '--out',
              tmp_path / 'from_intervals', *common])
    a, b = (SkeletonStore(str(tmp_path / d))
            for d in ('from_table', 'from_intervals'))
    assert len(a) == 20
    assert a.clip_names == b.clip_names and a.splits == b.splits
    assert a.classes == b.classes == ['a08', 'a10', 'a12', 'a14', 'a17']
    assert a.labels.tolist() == b.labels.tolist()
    for i in range(len(a)):
        for conv in ('kinect_v1_20', 'coco'):
            np.testing.assert_array_equal(a.get(i, conv), b.get(i, conv))
    # the table it built is kept beside the store
    with open(tmp_path / 'from_intervals' / 'clips.csv') as f:
        assert next(csv.DictReader(f))['clip'] == 's01_e01_a08'
    with pytest.raises(SystemExit, match='either --table or --intervals'):
        _convert(['--out', tmp_path / 'none', *common])
