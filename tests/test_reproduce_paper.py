"""tools/reproduce_paper.py: --dry-run lists every command behind Table 1
(CPU, nothing run or written); a finished run is resumed (nothing re-run)
and its table is computed from the score dumps."""
import json
import re

import numpy as np

from .conftest import ROOT, load_tool
from .test_eval_fusion_knn import write_dump

BENCHMARKS = ('ntu60_xsub', 'ntu60_xview', 'ntu120_xsub', 'ntu120_xset')
STREAMS = ('', '_motion', '_bone')


def test_dry_run_lists_every_command(tmp_path, capsys):
    tool = load_tool('reproduce_paper')
    work = tmp_path / 'work'
    table = tool.main(['--dry-run', '--work-dir', str(work), '--gpus', '8'])
    out = capsys.readouterr().out
    commands = re.findall(r'^\[reproduce\] \$ (.*)$', out, re.M)
    # per benchmark and stream: pretraining, 2 probes, 2 tests
    assert len(commands) == len(BENCHMARKS) * len(STREAMS) * 5
    for bench in BENCHMARKS:
        for stream in STREAMS:
            name = bench + stream
            expected = [
                f'tools/dist_train.sh configs/msclr/ms_aimclr_{name}.py 8',
                f'tools/dist_train.sh configs/msclr/linear/linear_ms_aimclr_{name}'
                '.py 8',
                f'tools/dist_train.sh configs/msclr/linear/linear_ms_aimclr_{name}'
                '_ensemble.py 8',
                f'tools/dist_test.sh configs/msclr/linear/linear_ms_aimclr_{name}.py',
                f'tools/dist_test.sh configs/msclr/linear/linear_ms_aimclr_{name}'
                '_ensemble.py',
            ]
            for part in expected:
                assert sum(part + ' ' in c for c in commands) == 1, part
        store = 'ntu60' if bench.startswith('ntu60') else 'ntu120'
        assert all(f'ann_file=data/stores/{store}_msclr' in c
                   for c in commands if f' configs/msclr/ms_aimclr_{bench}' in c)
        assert f'{bench} 3s + ensemble: python tools/ensemble.py' in out
    # every config a command names exists; the probes load the pretraining
    for cmd in commands:
        config = re.search(r'(configs/\S+\.py)', cmd).group(1)
        assert (ROOT / config).is_file(), config
    assert all('--resume' in c for c in commands if 'dist_train' in c)
    assert f'init_cfg.checkpoint={work}/ntu120_xset_bone/pretrain/epoch_300.pth' \
        in out
    assert not work.exists()  # a dry run writes nothing
    # no numbers of ours yet; the published ones beside them
    assert table['ntu60_xsub']['3s'] is None
    assert '| 3s + ensemble |  | 88.0 |' in out


def _finished_benchmark(work, rng):
    """Files a finished ntu60_xsub run leaves: checkpoints and dumps."""
    labels = np.arange(40) % 5
    dumps = {}
    for stream in STREAMS:
        base = work / f'ntu60_xsub{stream}'
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
    args = ['--benchmarks', 'ntu60_xsub', '--work-dir', str(work),
            '--stores', f'ntu60={store}']
    table = tool.main(args)['ntu60_xsub']
    out = capsys.readouterr().out
    assert '[reproduce] $' not in out  # every step was done: nothing ran
    assert out.count('[reproduce] done: ') == 15

    def top1(scores):
        return 100 * float((scores.argmax(1) == labels).mean())

    for row, stream in (('joint', ''), ('motion', '_motion'), ('bone', '_bone')):
        assert table[row] == top1(dumps[stream, 'linear'])
    for row, probe in (('3s', 'linear'), ('3s + ensemble', 'ensemble')):
        fused = (0.6 * dumps['', probe] + 0.6 * dumps['_bone', probe] +
                 0.4 * dumps['_motion', probe])
        assert table[row] == top1(fused)
    saved = json.loads((work / 'table.json').read_text())
    assert saved['ours']['ntu60_xsub'] == table
    assert saved['published']['ntu60_xsub']['joint'] == 76.1
    # one dump missing: its test (and only it) is run again on resume
    (work / 'ntu60_xsub_motion' / 'ensemble_scores.pkl').unlink()
    tool.main(args + ['--dry-run'])
    commands = re.findall(r'^\[reproduce\] \$ (.*)$', capsys.readouterr().out,
                          re.M)
    assert len(commands) == 1 and 'tools/test.py' in commands[0]
    assert 'ntu60_xsub_motion/ensemble/best_acc_top1_epoch_90.pth' in commands[0]
