"""tools/real_results.py: aggregation over seeds and the docs update, with
the training steps replaced by fabricated numbers (the real runs take an
hour; docs/results.md shows their output)."""
import json
import os.path as osp

import numpy as np
import pytest

from .test_tools_train import load_tool


def test_table_over_seeds_and_docs_update(tmp_path, monkeypatch):
    tool = load_tool('real_results')
    store = tmp_path / 'store'
    store.mkdir()
    (store / 'index.json').write_text('{}')
    monkeypatch.setitem(tool.DATASETS['msr3d'], 'store', str(store))
    calls, evals, pretrains, eval_cfgs = [], {}, {}, {}

    def fake(jobs, work, name, seed, pretrain_cfg, eval_cfg, epochs, **kwargs):
        calls.append((name, seed, pretrain_cfg and osp.basename(pretrain_cfg), epochs))
        evals[name], pretrains[name] = kwargs['eval_opts'], kwargs['pretrain_opts']
        eval_cfgs[name] = osp.basename(eval_cfg)
        if pretrain_cfg is None:  # the raw joints
            return dict(reference='msr_action3d_20', linear=dict(top1=0.7),
                        knn=dict(top1=0.6 + 0.01 * seed),
                        retrieval={'msr_action3d_20->coco': dict(top1=1.0, median_rank=1)},
                        convention_probe=dict(top1=0.9), cosines=dict(
                            same_clip_other_conv=0.99, other_clip_same_conv=0.9))
        base = 0.5 if name.startswith('ms_aimclr') else 0.3
        row = dict(reference='msr_action3d_20', linear=dict(top1=base + 0.01 * seed),
                   knn=dict(top1=base - 0.1 + 0.02 * seed))
        if 'ms_aimclr' in pretrain_cfg:
            row.update(ensemble=dict(top1=0.6), transfer_to_coco=dict(top1=0.2),
                       retrieval={'msr_action3d_20->coco': dict(top1=0.1 * seed,
                                                                median_rank=3.0)})
        return row

    monkeypatch.setattr(tool, 'pretrain_and_evaluate', fake)
    doc = tmp_path / 'results.md'
    doc.write_text(f'intro\n{tool.MARKERS[0]}\nold table\n{tool.MARKERS[1]}\nrest\n')
    work = tmp_path / 'work'
    tool.main(['--datasets', 'msr3d', '--seeds', '0', '2', '--work-dir', str(work),
               '--update-docs', str(doc), '--random-init', '--variant', 'ms_aimclr:long',
               'train_cfg.max_epochs=24', 'model.queue_len=64', 'eval:model.cls_head.dropout=0.5',
               '--jobs', '3', '--row', 'ms_aimclr:cbn'])
    # every method x seed ran once, MS-AimCLR with its extra tests, schedules from
    # the configs; the variant on the first seed only, with its own epochs; the
    # --row on every seed, with its own configs
    assert sorted(c[:2] for c in calls) == [('aimclr', 0), ('aimclr', 2), ('ms_aimclr', 0),
                                            ('ms_aimclr', 2), ('ms_aimclr_cbn', 0),
                                            ('ms_aimclr_cbn', 2), ('ms_aimclr_long', 0),
                                            ('random_init', 0), ('random_init', 2),
                                            ('raw_joints', 0), ('raw_joints', 2)]
    assert ('ms_aimclr_cbn', 2, 'ms_aimclr_msr3d_xsub_cbn.py', 32) in calls
    assert eval_cfgs['ms_aimclr_cbn'] == 'linear_ms_aimclr_msr3d_xsub_cbn.py'
    assert eval_cfgs['ms_aimclr_long'] == eval_cfgs['random_init'] == \
        eval_cfgs['raw_joints'] == 'linear_ms_aimclr_msr3d_xsub.py'
    assert ('- ms_aimclr_cbn: `--row ms_aimclr:cbn`; configs `ms_aimclr_msr3d_xsub_cbn.py`, '
            '`linear_ms_aimclr_msr3d_xsub_cbn.py`') in doc.read_text()
    assert ('raw_joints', 0, None, 0) in calls  # no encoder
    assert ('random_init', 0, 'ms_aimclr_msr3d_xsub.py', 0) in calls  # as initialised
    assert ('ms_aimclr_long', 0, 'ms_aimclr_msr3d_xsub.py', 24) in calls
    assert ('ms_aimclr', 0, 'ms_aimclr_msr3d_xsub.py', 32) in calls
    assert ('aimclr', 0, 'aimclr_msr3d_xsub.py', 64) in calls
    text = doc.read_text()
    assert text.startswith('intro\n') and text.endswith('rest\n') and 'old table' not in text
    ms_row = next(line for line in text.splitlines() if line.startswith('| ms_aimclr |'))
    # linear 50 and 52 -> 51.0 +- 1.4 (sample std); kNN 40 and 44 -> 42.0 +- 2.8;
    # retrieval top-1 0 and 20 -> 10.0 +- 14.1, median rank 3
    assert ms_row.split(' | ')[1:] == ['2', '51.0 +- 1.4', '42.0 +- 2.8', '60.0 +- 0.0',
                                       '20.0 +- 0.0', '10.0 +- 14.1', '3 +- 0', '-', '-',
                                       '-', '- |']
    raw_row = next(line for line in text.splitlines() if line.startswith('| raw_joints |'))
    assert raw_row.split(' | ')[1:] == ['2', '70.0 +- 0.0', '61.0 +- 1.4', '-', '-',
                                        '100.0 +- 0.0', '1 +- 0', '90.0 +- 0.0', '-',
                                        '0.990 +- 0.000', '0.900 +- 0.000 |']
    ai_row = next(line for line in text.splitlines() if line.startswith('| aimclr |'))
    assert ai_row.rstrip(' |').endswith('| - | - | - | -')
    # against the control (linear 30 and 32, kNN 20 and 24)
    assert '- ms_aimclr vs random_init, linear: +20.0 points (beyond 2 std = 2.8)' in text
    assert '- ms_aimclr vs random_init, knn: +20.0 points (beyond 2 std = 5.7)' in text
    assert '- aimclr vs random_init, linear: +0.0 points (NOT beyond 2 std = 2.8)' in text
    # one seed has no spread to judge by
    assert ('- ms_aimclr_long vs random_init, linear: +19.0 points (one seed: no spread '
            'to compare with)') in text
    # against the raw joints and MS-AimCLR against AimCLR
    assert '- ms_aimclr vs raw_joints, linear: -19.0 points (BELOW, beyond 2 std = 2.8)' in text
    assert '- ms_aimclr vs aimclr, linear: +20.0 points (beyond 2 std = 2.8)' in text
    long_row = next(line for line in text.splitlines() if line.startswith('| ms_aimclr_long |'))
    assert long_row.split(' | ')[1:3] == ['1', '50.0']
    assert ('- ms_aimclr_long: `--variant ms_aimclr:long train_cfg.max_epochs=24 '
            'model.queue_len=64 eval:model.cls_head.dropout=0.5` (`eval:` options go to '
            'the evaluation), seed 0 only; configs `ms_aimclr_msr3d_xsub.py`') in text
    # eval: options go to the evaluation, the others to the pretraining; the
    # multi-convention encoders are evaluated after the sequential precise BN
    bn = 'precise_bn_per_convention=sequential'
    assert f'precise BN (`--cfg-options {bn}`' in text
    assert evals['ms_aimclr_long'] == [bn, 'model.cls_head.dropout=0.5']
    assert evals['ms_aimclr'] == evals['random_init'] == evals['ms_aimclr_cbn'] == [bn]
    assert evals['aimclr'] == evals['raw_joints'] == []
    assert pretrains['ms_aimclr_long'] == ['train_cfg.max_epochs=24', 'model.queue_len=64']
    # re-rendering the saved results runs nothing and writes the same table
    args = ['--datasets', 'msr3d', '--seeds', '0', '2', '--work-dir', str(work),
            '--update-docs', str(doc), '--random-init', '--variant', 'ms_aimclr:long',
            'train_cfg.max_epochs=24', 'model.queue_len=64', 'eval:model.cls_head.dropout=0.5',
            '--jobs', '3', '--row', 'ms_aimclr:cbn']
    assert 'Produced by `python tools/real_results.py ' + ' '.join(args[:8]) in text
    calls.clear()
    tool.main(args + ['--table-only'])
    assert not calls and doc.read_text() == text
    saved = json.loads((work / 'results.json').read_text())
    assert saved['seeds'] == [0, 2] and 'torch' in saved['environment']
    assert np.isclose(saved['results']['msr3d']['ms_aimclr']['2']['linear']['top1'], 0.52)
    # --paper-eval: the multi-convention encoders without the precise BN
    calls.clear()
    tool.main(['--datasets', 'msr3d', '--seeds', '0', '--work-dir', str(tmp_path / 'paper'),
               '--random-init', '--paper-eval'])
    assert len(calls) == 4 and evals['ms_aimclr'] == evals['random_init'] == []
    assert 'evaluated as the paper' in (tmp_path / 'paper' / 'results.md').read_text()
    # --precise-bn train: the training-mode estimate
    calls.clear()
    tool.main(['--datasets', 'msr3d', '--seeds', '0', '--work-dir', str(tmp_path / 'train'),
               '--random-init', '--precise-bn', 'train'])
    assert evals['ms_aimclr'] == evals['random_init'] == ['precise_bn_per_convention=train']
    with pytest.raises(SystemExit):
        tool.main(['--datasets', 'msr3d', '--paper-eval', '--precise-bn', 'train'])
