"""tools/real_results.py: aggregation over seeds and the docs update, with
the training steps replaced by fabricated numbers (the real runs take an
hour; docs/results.md shows their output)."""
import json

import numpy as np

from .conftest import ROOT
from .test_tools_train import load_tool


def test_table_over_seeds_and_docs_update(tmp_path, monkeypatch):
    tool = load_tool('real_results')
    store = tmp_path / 'store'
    store.mkdir()
    (store / 'index.json').write_text('{}')
    monkeypatch.setitem(tool.DATASETS['msr3d'], 'store', str(store))
    calls = []

    def fake(jobs, work, name, seed, tests, **kwargs):
        calls.append((name, seed, sorted(tests), kwargs['epochs']))
        base = 0.5 if name.startswith('ms_aimclr') else 0.3
        row = {t: dict(top1=base + 0.01 * seed) for t in tests}
        row['knn'] = dict(knn_top1=base - 0.1 + 0.02 * seed)
        return row

    monkeypatch.setattr(tool, 'pretrain_and_evaluate', fake)
    doc = tmp_path / 'results.md'
    doc.write_text(f'intro\n{tool.MARKERS[0]}\nold table\n{tool.MARKERS[1]}\nrest\n')
    work = tmp_path / 'work'
    tool.main(['--datasets', 'msr3d', '--seeds', '0', '2', '--work-dir', str(work),
               '--update-docs', str(doc), '--random-init', '--variant', 'ms_aimclr:long',
               'train_cfg.max_epochs=16', 'model.queue_len=64'])
    # every method x seed ran once, MS-AimCLR with its extra tests, schedules from
    # the configs; the variant on the first seed only, with its own epochs
    assert sorted(c[:2] for c in calls) == [('aimclr', 0), ('aimclr', 2), ('ms_aimclr', 0),
                                            ('ms_aimclr', 2), ('ms_aimclr_long', 0),
                                            ('random_init', 0), ('random_init', 2)]
    assert ('random_init', 0, ['linear'], 0) in calls  # 0 epochs: as initialised
    assert ('ms_aimclr_long', 0, ['ensemble', 'linear', 'transfer'], 16) in calls
    assert ('ms_aimclr', 0, ['ensemble', 'linear', 'transfer'], 8) in calls
    assert ('aimclr', 0, ['linear'], 16) in calls
    text = doc.read_text()
    assert text.startswith('intro\n') and text.endswith('rest\n') and 'old table' not in text
    ms_row = next(line for line in text.splitlines() if line.startswith('| ms_aimclr |'))
    # linear 50 and 52 -> 51.0 +- 1.0; kNN 40 and 44 -> 42.0 +- 2.0
    assert ms_row.split(' | ')[1:3] == ['51.0 +- 1.0', '42.0 +- 2.0']
    ai_row = next(line for line in text.splitlines() if line.startswith('| aimclr |'))
    assert ai_row.rstrip(' |').endswith('| - | -')
    long_row = next(line for line in text.splitlines() if line.startswith('| ms_aimclr_long |'))
    assert long_row.split(' | ')[1] == '50.0'
    assert '`--cfg-options train_cfg.max_epochs=16 model.queue_len=64`' in text
    # re-rendering the saved results runs nothing and writes the same table
    args = ['--datasets', 'msr3d', '--seeds', '0', '2', '--work-dir', str(work),
            '--update-docs', str(doc), '--random-init', '--variant', 'ms_aimclr:long',
            'train_cfg.max_epochs=16', 'model.queue_len=64']
    assert 'Produced by `python tools/real_results.py ' + ' '.join(args[:8]) in text
    calls.clear()
    tool.main(args + ['--table-only'])
    assert not calls and doc.read_text() == text
    saved = json.loads((work / 'results.json').read_text())
    assert saved['seeds'] == [0, 2] and 'torch' in saved['environment']
    assert np.isclose(saved['results']['msr3d']['ms_aimclr']['2']['linear']['top1'], 0.52)


def test_initial_checkpoint_is_the_seeded_initialisation(tmp_path):
    import torch

    from msclr_plugin.utils.jobs import save_initial_checkpoint
    cfg = str(ROOT / 'configs' / 'msclr' / 'aimclr_msr3d_xsub.py')
    paths = [tmp_path / f'{name}.pth' for name in ('a', 'b', 'c')]
    for path, seed in zip(paths, (0, 0, 1)):
        save_initial_checkpoint(cfg, str(path), seed)
    a, b, c = (torch.load(p, weights_only=True)['state_dict'] for p in paths)
    key = 'backbone.gcn.0.gcn.conv.weight'
    assert key in a and torch.equal(a[key], b[key]) and not torch.equal(a[key], c[key])
    # the key encoder starts as a copy of the query encoder (init_weights ran)
    assert torch.equal(a[key], a['momentum_' + key])
