"""tools/reproduce_paper.py: --dry-run lists every command behind Tables 1-3
(CPU, nothing run or written) with the paper's global batch on N GPUs, every
published row beside ours; a finished run is resumed (nothing re-run) and
its table is computed from the score dumps; GPU hours from a gpu_check
report."""
import json
import re

import numpy as np
import pytest

from .conftest import ROOT, load_tool
from .test_eval_fusion_knn import write_dump

BENCHMARKS = ('ntu60_xsub', 'ntu60_xview', 'ntu120_xsub', 'ntu120_xset')
STREAMS = ('', '_motion', '_bone')


def _commands(out):
    return re.findall(r'^\[reproduce\] \$ (.*)$', out, re.M)


def test_dry_run_lists_every_command(tmp_path, capsys):
    tool = load_tool('reproduce_paper')
    work = tmp_path / 'work'
    rows = tool.main(['--dry-run', '--work-dir', str(work), '--gpus', '8'])
    out = capsys.readouterr().out
    commands = _commands(out)
    # per benchmark and stream: MS-AimCLR pretraining, 2 probes, 2 tests;
    # AimCLR pretraining, its probe and test
    assert len(commands) == len(BENCHMARKS) * len(STREAMS) * (5 + 3)
    for bench in BENCHMARKS:
        for stream in STREAMS:
            for model, probes in (('ms_aimclr', ('', '_ensemble')),
                                  ('aimclr', ('', ))):
                name = f'{model}_{bench}{stream}'
                expected = [f'tools/dist_train.sh configs/msclr/{name}.py 8']
                for probe in probes:
                    lin = f'configs/msclr/linear/linear_{name}{probe}.py'
                    expected += [f'tools/dist_train.sh {lin} 8',
                                 f'tools/dist_test.sh {lin}']
                for part in expected:
                    assert sum(part + ' ' in c for c in commands) == 1, part
        store = 'ntu60' if bench.startswith('ntu60') else 'ntu120'
        assert all(f'ann_file=data/stores/{store}_msclr' in c
                   for c in commands if f'aimclr_{bench}' in c)
        assert f'ms_aimclr {bench} 3s ensemble: python tools/ensemble.py' in out
        assert f'aimclr {bench} 3s linear: python tools/ensemble.py' in out
    for cmd in commands:  # every config a command names exists
        config = re.search(r'(configs/\S+\.py)', cmd).group(1)
        assert (ROOT / config).is_file(), config
    trains = [c for c in commands if 'dist_train' in c]
    assert all('--resume' in c for c in trains)
    # 8 processes share the paper's global batch 128; lr unchanged
    assert all(c.endswith('train_dataloader.batch_size=16') for c in trains)
    assert not any('--auto-scale-lr' in c for c in commands)
    assert ('configs/msclr/ms_aimclr_ntu60_xsub.py: global batch 128 (16 x 8 '
            'processes), lr 0.1 as configured') in out
    assert ('configs/msclr/linear/linear_aimclr_ntu120_xset_bone.py: global '
            'batch 128 (16 x 8 processes), lr 3 as configured') in out
    # the ensemble probes use the rule behind the published numbers
    for cmd in commands:
        assert ('model.cls_head.view_fusion=logits' in cmd) == \
            ('_ensemble.py' in cmd), cmd
    assert 'ensemble rule: logits (the authors\' code' in out
    assert (f'init_cfg.checkpoint={work}/ms_aimclr_ntu120_xset_bone/pretrain/'
            'epoch_300.pth') in out
    assert (f'init_cfg.checkpoint={work}/aimclr_ntu60_xview/pretrain/'
            'epoch_300.pth') in out
    assert not work.exists()  # a dry run writes nothing
    # every row of Tables 1-3 with its published numbers (paper's column
    # order: NTU-60 xview, xsub; NTU-120 xset, xsub), nothing of ours yet
    published = {
        ('AimCLR', 'j'): (79.7, 74.3, 63.4, 63.4),
        ('MS-AimCLR', 'j'): (83.0, 76.1, 67.6, 63.9),
        ('AimCLR', 'm'): (70.6, 66.8, 54.4, 57.3),
        ('MS-AimCLR', 'm'): (80.4, 73.1, 62.6, 60.7),
        ('AimCLR', 'b'): (77.0, 73.2, 63.4, 62.9),
        ('MS-AimCLR', 'b'): (82.2, 76.1, 67.3, 64.0),
        ('3s-AimCLR', 'j+m+b'): (83.8, 78.9, 68.8, 68.2),
        ('3s-MS-AimCLR', 'j+m+b'): (86.7, 80.9, 70.1, 68.3),
        ('3s-MS-AimCLR + ensemble', 'j+m+b'): (94.2, 88.0, 75.1, 75.3),
        ('MS-AimCLR + ensemble', 'j'): (93.2, 86.6, 73.8, 74.3),
        ('ActCLR', 'j'): (86.7, 80.9, 70.5, 69.0),
        ('CPM', 'j'): (84.9, 78.7, 69.6, 68.7),
        ('CMD', 'j'): (81.3, 76.8, 66.0, 65.4),
        ('3s-ActCLR', 'j+m+b'): (88.8, 84.3, 75.7, 74.3),
    }
    assert len(rows) == len(published)
    for (method, streams), values in published.items():
        peer = method in ('ActCLR', 'CPM', 'CMD', '3s-ActCLR')
        ours = ' n/a |' if peer else '  |'
        line = f'| {method} | {streams} |' + ''.join(
            f'{ours} {v:.1f} |' for v in values)
        assert re.search(r'^\| [0-9, ]+ ' + re.escape(line) + '$', out,
                         re.M), line


def test_gpus_must_divide_the_batch(tmp_path, capsys):
    tool = load_tool('reproduce_paper')
    args = ['--dry-run', '--work-dir', str(tmp_path / 'w'), '--models',
            'ms_aimclr', '--benchmarks', 'ntu60_xsub', '--gpus', '3']
    with pytest.raises(SystemExit, match='batch 128 cannot be split over 3'):
        tool.main(args)
    capsys.readouterr()
    tool.main(args + ['--auto-scale-lr'])
    out = capsys.readouterr().out
    trains = [c for c in _commands(out) if 'dist_train' in c]
    assert len(trains) == 9
    assert all('--auto-scale-lr' in c and 'batch_size=' not in c for c in trains)
    assert ('ms_aimclr_ntu60_xsub.py: --auto-scale-lr: global batch 384 (128 x 3 '
            'processes), lr 0.1 -> 0.3') in out
    assert 'linear_ms_aimclr_ntu60_xsub.py: --auto-scale-lr: global batch 384' \
        in out and 'lr 3 -> 9' in out


def test_slurm_keeps_the_global_batch(tmp_path, capsys):
    tool = load_tool('reproduce_paper')
    tool.main(['--dry-run', '--work-dir', str(tmp_path / 'w'), '--models',
               'aimclr', '--benchmarks', 'ntu60_xsub', '--gpus', '4', '--slurm',
               'p1'])
    commands = _commands(capsys.readouterr().out)
    assert len(commands) == 9
    assert commands[0].startswith(
        'env GPUS=4 GPUS_PER_NODE=4 bash tools/slurm_train.sh p1 aimclr_ntu60_xsub '
        'configs/msclr/aimclr_ntu60_xsub.py ')
    assert commands[0].endswith('train_dataloader.batch_size=32')
    assert 'tools/slurm_test.sh p1 linear_aimclr_ntu60_xsub ' in commands[2]


def test_gpu_hours_from_gpu_check_report(tmp_path, capsys):
    tool = load_tool('reproduce_paper')
    report = tmp_path / 'gpu_check.json'
    report.write_text(json.dumps(dict(env=dict(gpu='Test GPU'), epoch=dict(
        slices=[dict(config='configs/msclr/ms_aimclr_ntu60_xsub_fast.py',
                     iter_s_mean=9.0, batch=128),
                dict(config='configs/msclr/ms_aimclr_ntu60_xsub.py',
                     iter_s_mean=0.4, batch=128)]))))
    tool.main(['--dry-run', '--work-dir', str(tmp_path / 'w'), '--gpu-report',
               str(report)])
    out = capsys.readouterr().out
    # NTU-60 xsub: 40,320 clips; MS-AimCLR 2 conventions: 630 steps of 0.4 s
    # x 300 epochs = 21 h a stream; AimCLR 1 convention: 10.5 h
    line = next(x for x in out.splitlines() if x.startswith('| 1 | MS-AimCLR | j |'))
    cells = [c.strip() for c in line.strip('|').split('|')]
    assert cells[-3] == '21.0'  # the GPU-h columns: xview, xsub, xset, xsub
    assert cells[-4] == f'{0.4 * (37920 * 2 // 128) * 300 / 3600:.1f}'
    line = next(x for x in out.splitlines() if x.startswith('| 1 | 3s-AimCLR |'))
    assert line.strip('|').split('|')[-3].strip() == '31.5'  # 3 pretrainings
    assert 'on Test GPU' in out
    report.write_text(json.dumps(dict(epoch=dict(slices=[]))))
    with pytest.raises(SystemExit, match='no measured epoch slice'):
        tool.main(['--dry-run', '--gpu-report', str(report)])


def _finished_benchmark(work, rng):
    """Files a finished MS-AimCLR ntu60_xsub run leaves: checkpoints and dumps."""
    labels = np.arange(40) % 5
    dumps = {}
    for stream in STREAMS:
        base = work / f'ms_aimclr_ntu60_xsub{stream}'
        for sub, ckpt in (('pretrain', 'epoch_300.pth'),
                          ('linear', 'epoch_100.pth'),
                          ('ensemble', 'epoch_100.pth')):
            (base / sub).mkdir(parents=True, exist_ok=True)
            (base / sub / ckpt).write_bytes(b'')
        for probe in ('linear', 'ensemble'):
            (base / probe / 'best_acc_top1_epoch_90.pth').write_bytes(b'')
            scores = rng.normal(size=(40, 5)) + 2 * np.eye(5)[labels]
            dumps[stream, probe] = scores
            write_dump(base / f'{probe}_scores.pkl', scores, labels)
    return labels, dumps


def test_resume_and_table(tmp_path, capsys):
    tool = load_tool('reproduce_paper')
    work = tmp_path / 'work'
    store = tmp_path / 'store'
    store.mkdir()
    (store / 'index.json').write_text('{}')
    labels, dumps = _finished_benchmark(work, np.random.default_rng(0))
    args = ['--models', 'ms_aimclr', '--benchmarks', 'ntu60_xsub', '--work-dir',
            str(work), '--stores', f'ntu60={store}']
    rows = {(r['method'], r['streams']): r['ours'] for r in tool.main(args)}
    out = capsys.readouterr().out
    assert '[reproduce] $' not in out  # every step was done: nothing ran
    assert out.count('[reproduce] done: ') == 15

    def top1(scores):
        return 100 * float((scores.argmax(1) == labels).mean())

    for letter, stream in (('j', ''), ('m', '_motion'), ('b', '_bone')):
        assert rows['MS-AimCLR', letter]['ntu60_xsub'] == \
            top1(dumps[stream, 'linear'])
        assert rows['AimCLR', letter]['ntu60_xsub'] is None  # not run
        assert rows['MS-AimCLR', letter]['ntu60_xview'] is None
    assert rows['MS-AimCLR + ensemble', 'j']['ntu60_xsub'] == \
        top1(dumps['', 'ensemble'])
    for row, probe in (('3s-MS-AimCLR', 'linear'),
                       ('3s-MS-AimCLR + ensemble', 'ensemble')):
        fused = (0.6 * dumps['', probe] + 0.6 * dumps['_bone', probe] +
                 0.4 * dumps['_motion', probe])
        assert rows[row, 'j+m+b']['ntu60_xsub'] == top1(fused)
    assert rows['CMD', 'j']['ntu60_xsub'] == 'peer'
    saved = json.loads((work / 'table.json').read_text())
    assert saved['ensemble_rule'] == 'logits'
    joint = next(r for r in saved['rows'] if r['method'] == 'MS-AimCLR'
                 and r['streams'] == 'j')
    assert joint['top1']['ntu60_xsub'] == 76.1
    assert joint['ours']['ntu60_xsub'] == rows['MS-AimCLR', 'j']['ntu60_xsub']
    # one dump missing: its test (and only it) is run again on resume
    (work / 'ms_aimclr_ntu60_xsub_motion' / 'ensemble_scores.pkl').unlink()
    tool.main(args + ['--dry-run'])
    commands = _commands(capsys.readouterr().out)
    assert len(commands) == 1 and 'tools/test.py' in commands[0]
    assert 'ms_aimclr_ntu60_xsub_motion/ensemble/best_acc_top1_epoch_90.pth' \
        in commands[0]
    assert 'view_fusion=logits' in commands[0]


def test_transfer_reuses_the_ntu_pretrainings(tmp_path, capsys):
    tool = load_tool('reproduce_paper')
    work = tmp_path / 'work'
    tool.main(['--dry-run', '--work-dir', str(work), '--models', 'ms_aimclr',
               '--transfer', '--gpus', '2'])
    out = capsys.readouterr().out
    commands = _commands(out)
    # Table 1's 60 MS-AimCLR commands + 2 sources x 2 protocols x (train, test)
    assert len(commands) == 60 + 8
    for source in ('ntu60_xsub', 'ntu120_xsub'):
        pre = f'configs/msclr/ms_aimclr_{source}.py '
        assert sum(pre in c for c in commands) == 1  # pretrained once
        # the global batches of the configs (128 linear, 64 fine-tuning)
        for protocol, batch in (('linear', 64), ('finetune', 32)):
            cfg = (f'configs/msclr/linear/transfer_ms_aimclr_{source}_pku2_xsub_'
                   f'{protocol}.py')
            runs = [c for c in commands if cfg in c]
            assert len(runs) == 2 and 'dist_train' in runs[0], runs
            assert (f'init_cfg.checkpoint={work}/ms_aimclr_{source}/pretrain/'
                    'epoch_300.pth') in runs[0]
            assert all('ann_file=data/stores/pku2_msclr' in c for c in runs)
            assert runs[0].endswith(f'train_dataloader.batch_size={batch}')
            assert f'| {source} -> pku2_xsub {protocol} |  |' in out
