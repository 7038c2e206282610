"""tools/compare_methods.py: configs that follow a store, schedules of equal
steps, and the whole comparison run on a few real MSR Action3D clips."""
import json
import subprocess
import sys

import pytest
from mmengine.config import Config

from msclr_plugin.utils.compare import (METHODS, eval_config, parse_method,
                                        pretrain_config)
from msclr_plugin.utils.train_steps import epoch_steps, set_train_steps
from .conftest import ROOT, load_tool, repo_env

MSR = 'msr_action3d/real_world_coordinates'


def test_parse_method():
    assert parse_method('q=a.py,b.py') == ('q', 'a.py', 'b.py')
    assert parse_method('q=a.py') == ('q', 'a.py', None)
    with pytest.raises(ValueError, match='NAME=PRETRAIN'):
        parse_method('a.py')


def test_configs_follow_the_store(tmp_path):
    from msclr_plugin.data_prep.synthetic import generate_synthetic_store
    store = str(tmp_path / 'syn')
    generate_synthetic_store(store, num_clips_per_class_per_subject=1,
                             conventions=('kinectv2_25', 'coco'), num_subjects=4,
                             num_person=1, classes=['wave_right_hand', 'squat', 'jump'])
    msr = str(ROOT / 'configs/msclr/aimclr_msr3d_xsub.py')  # has a kNN monitor
    pre = pretrain_config(msr, store, ['coco', 'kinectv2_25'], 'coco', ['xsub_train', 'xsub_val'])
    # one convention: the reference; the monitor reads the same store
    assert pre.train_dataloader.dataset.conventions == ['coco']
    assert pre.model.backbone.graph_cfg.layouts == ['coco']
    knn = next(h for h in pre.custom_hooks if h['type'] == 'KNNMonitorHook')
    assert knn['val_dataloader']['dataset']['ann_file'] == store
    assert knn['val_dataloader']['dataset']['mode'] == 'coco'
    assert knn['val_dataloader']['dataset']['split'] == 'xsub_val'
    ms = pretrain_config(str(ROOT / METHODS['ms_aimclr'][0]), store, ['coco', 'kinectv2_25'],
                         'coco', ['xsub_train', 'xsub_val'])
    assert ms.train_dataloader.dataset.conventions == ['coco', 'kinectv2_25']
    # 9 training clips x 2 conventions in batches of 32 (leftovers mixed): 1 step
    assert epoch_steps(ms) == [1] * ms.train_cfg.max_epochs
    # a budget of 256 steps: 256 epochs of one step, mining and the lr step
    # at the recipe's fractions (3/4, 7/8)
    # (and the warm-up its eighth)
    old = ms.train_cfg.max_epochs
    mining, (milestone, ) = (ms.model.mining_epoch,
                             ms.param_scheduler[1]['milestones'])
    assert set_train_steps(ms, 256)['steps'] == 256
    assert ms.train_cfg.max_epochs == 256
    assert ms.model.mining_epoch == round(mining * 256 / old)
    warmup, step = ms.param_scheduler
    assert step['milestones'] == [round(milestone * 256 / old)]
    assert (warmup['type'], warmup['end']) == ('LinearLR', 256 // 8)
    linear = eval_config(str(ROOT / METHODS['ms_aimclr'][1]), ms, store, 'coco',
                         ['xsub_train', 'xsub_val'])
    assert linear.model.cls_head.num_classes == 3
    assert linear.model.backbone.graph_cfg.layouts == ['coco', 'kinectv2_25']
    assert linear.model.backbone.frozen_stages == 10
    assert linear.model.backbone.init_cfg['type'] == 'Pretrained'
    assert linear.test_dataloader.dataset.mode == 'coco'
    assert linear.train_dataloader.dataset.mode == 'single'


def test_compare_methods_on_msr_clips(shared_data, tmp_path):
    """The walk-through's last step at small size: 36 MSR clips (4 actions,
    the first repetition), a 4-step budget, 2 seeds, every row evaluated."""
    names = sorted(p.name[:-len('_skeleton3D.txt')] for p in (shared_data / MSR).iterdir()
                   if p.name[:3] in ('a01', 'a02', 'a03', 'a04') and '_e01_' in p.name)
    (tmp_path / 'list.txt').write_text('\n'.join(names) + '\n')
    store = tmp_path / 'msr'
    subprocess.run([sys.executable, 'tools/data/msr3d_to_store.py', '--data-dir',
                    str(shared_data / MSR), '--out', str(store), '--protocol',
                    str(tmp_path / 'list.txt'), '--derived', 'coco', '--no-check'],
                   cwd=ROOT, env=repo_env(), check=True, capture_output=True)
    work = tmp_path / 'cmp'
    serial = ['num_workers=0', 'persistent_workers=False']
    tool = load_tool('compare_methods')
    results = tool.main([
        '--store', str(store), '--conventions', 'msr_action3d_20', 'coco', '--steps', '4',
        '--seeds', '0', '1', '--jobs', '2', '--work-dir', str(work),
        '--pretrain-options', *(f'train_dataloader.{o}' for o in serial),
        '--eval-options', 'train_cfg.max_epochs=20',
        *(f'{loader}.{o}' for loader in ('train_dataloader', 'test_dataloader')
          for o in serial)])
    assert set(results) == {'aimclr', 'ms_aimclr', 'random_init', 'raw_joints'}
    saved = json.loads((work / 'results.json').read_text())
    # equal steps: AimCLR's epochs hold half the items of MS-AimCLR's
    steps = {name: s['steps'] for name, s in saved['schedules'].items()}
    assert steps == {'aimclr': 4, 'ms_aimclr': 4}
    assert saved['schedules']['aimclr']['epochs'] == 2 * saved['schedules']['ms_aimclr']['epochs']
    for name, per_seed in results.items():
        assert sorted(per_seed) == [0, 1]
        for result in per_seed.values():
            assert result['num_test'] > 0 and 0 <= result['linear']['top1'] <= 1
            # AimCLR's encoder knows one convention: nothing to tell apart
            assert ('convention_probe' in result) == (name != 'aimclr')
    assert results['ms_aimclr'][0]['convention_probe']['chance'] == 0.5
    assert 'ensemble' in results['ms_aimclr'][0] and 'ensemble' not in results['aimclr'][0]
    # COCO is derived from the Kinect v1 joints: their shared joints find the clip
    assert results['raw_joints'][0]['retrieval']['msr_action3d_20->coco']['top1'] == 1.0
    table = (work / 'results.md').read_text()
    for row in ('aimclr', 'ms_aimclr', 'random_init', 'raw_joints'):
        assert f'| {row} | 2 |' in table
    assert 'ms_aimclr vs random_init, retrieval:' in table
    assert 'ms_aimclr vs raw_joints, linear:' in table
    assert 'ms_aimclr vs aimclr, linear:' in table
    # the generated configs are kept, with the derived schedule
    epochs = saved['schedules']['aimclr']['epochs']
    assert Config.fromfile(str(work / 'configs' / 'aimclr.py')).train_cfg.max_epochs == epochs
    assert (work / 'seed1' / 'aimclr_pretrain' / f'epoch_{epochs}.pth').is_file()


def test_controls_take_a_multi_convention_method(tmp_path):
    """Without the built-in MS-AimCLR, the random encoder and the raw joints
    are evaluated like the first multi-convention method, even when a
    single-convention one comes last (they need both conventions for
    retrieval and the convention probe)."""
    from msclr_plugin.data_prep.synthetic import generate_synthetic_store
    store = str(tmp_path / 'syn')
    generate_synthetic_store(store, num_clips_per_class_per_subject=1,
                             conventions=('kinectv2_25', 'coco'), num_subjects=4,
                             num_person=1, classes=['wave_right_hand', 'squat'])
    demo = 'configs/msclr/demo/'
    tool = load_tool('compare_methods')
    rows, _ = tool.prepare(tool.parse_args([
        '--store', store, '--conventions', 'kinectv2_25', 'coco', '--no-builtin',
        '--work-dir', str(tmp_path / 'cmp'),
        '--method', f'paper={demo}ms_aimclr_synthetic.py,{demo}linear_ms_aimclr_synthetic_precise_bn.py',
        '--method', f'single={demo}aimclr_synthetic.py,{demo}linear_aimclr_synthetic.py']))
    by_name = {name: (pre, epochs, linear) for name, pre, epochs, linear in rows}
    paper_pre, _, paper_linear = by_name['paper']
    assert by_name['random_init'] == (paper_pre, 0, paper_linear)
    assert by_name['raw_joints'] == (None, 0, paper_linear)
    assert Config.fromfile(paper_linear).get('precise_bn_per_convention')


def test_random_init_each(tmp_path):
    """``--random-init-each``: a random-encoder control per method, built
    from that method's own configs, and each method judged against its own."""
    from msclr_plugin.data_prep.synthetic import generate_synthetic_store
    from msclr_plugin.utils.jobs import beats_control, verdicts
    store = str(tmp_path / 'syn')
    generate_synthetic_store(store, num_clips_per_class_per_subject=1,
                             conventions=('kinectv2_25', 'coco'), num_subjects=4,
                             num_person=1, classes=['wave_right_hand', 'squat', 'jump'])
    demo = 'configs/msclr/demo/'
    tool = load_tool('compare_methods')
    args = tool.parse_args([
        '--store', store, '--conventions', 'kinectv2_25', 'coco', '--no-builtin',
        '--random-init-each', '--work-dir', str(tmp_path / 'cmp'), '--method',
        f'a={demo}ms_aimclr_synthetic.py', '--method',
        f'b={demo}ms_aimclr_synthetic_ctrgcn.py,{demo}linear_ms_aimclr_synthetic_ctrgcn.py'])
    rows, _ = tool.prepare(args)
    by_name = {name: (pre, epochs, linear) for name, pre, epochs, linear in rows}
    assert list(by_name) == ['a', 'b', 'random_init_a', 'random_init_b', 'raw_joints']
    for name in ('a', 'b'):
        pre, _, linear = by_name[name]
        assert by_name[f'random_init_{name}'] == (pre, 0, linear)
    assert Config.fromfile(by_name['random_init_b'][2]).model.backbone.type == 'MSCTRGCN'

    def result(top1):
        return dict(linear=dict(top1=top1))
    results = {'a': {0: result(0.5), 1: result(0.6)}, 'b': {0: result(0.5), 1: result(0.5)},
               'random_init_a': {0: result(0.1), 1: result(0.1)},
               'random_init_b': {0: result(0.5), 1: result(0.5)},
               'raw_joints': {0: result(0.2), 1: result(0.2)}}
    lines = verdicts(results)
    assert ('a vs random_init_a, linear: +45.0 points (beyond 2 std = 14.1); '
            'paired over 2 seeds +45.0 +- 7.1, higher in 2') in lines
    assert ('b vs random_init_b, linear: +0.0 points (NOT beyond 2 std = 0.0); '
            'paired over 2 seeds +0.0 +- 0.0, higher in 0') in lines
    # paired only over the seeds both rows have: one here, so no paired part
    assert beats_control(dict(c={1: result(0.3), 2: result(0.4)},
                              raw_joints=results['raw_joints']),
                         'raw_joints', ('linear', )) == [
        'c vs raw_joints, linear: +15.0 points (beyond 2 std = 14.1)']
    # no row is judged against another method's control, nor a control as a method
    assert not any('a vs random_init_b' in line or line.startswith('random_init')
                   for line in lines)


def test_pool_folds_counts_every_test_clip_once():
    """A seed's row of several folds: fractions weighted by the folds' test
    clips (the pooled top-1 is the hits of all test clips), counts summed,
    no median rank, differing text listed."""
    from msclr_plugin.utils.jobs import metric_of, pool_folds

    def fold(num, top1, ckpt):
        return dict(num_test=num, reference='a', checkpoint=ckpt, seed=3,
                    linear=dict(top1=top1),
                    retrieval={'a->b': dict(top1=top1, median_rank=2.0, num_items=num)})
    folds = [fold(30, 0.5, 'f1.pth'), fold(20, 1.0, 'f2.pth')]
    pooled = pool_folds(folds)
    assert pooled['num_test'] == 50 and pooled['seed'] == 3
    assert pooled['linear']['top1'] == pytest.approx((15 + 20) / 50)
    assert pooled['retrieval']['a->b']['num_items'] == 50
    assert pooled['retrieval']['a->b']['median_rank'] is None
    assert pooled['checkpoint'] == ['f1.pth', 'f2.pth']
    assert pooled['folds'] == folds
    assert metric_of(pooled, 'retrieval') == pytest.approx(70.0)
    assert metric_of(pooled, 'retrieval_rank') is None


def test_optional_column_only_where_a_row_has_it():
    from msclr_plugin.utils.jobs import results_table
    plain = {'a': {0: dict(reference='x', retrieval={'x->y': dict(top1=0.5, median_rank=1)})}}
    assert 'without repeated takes' not in results_table(plain)[0]
    plain['a'][0]['retrieval_without_repeats'] = {'x->y': dict(top1=0.75, median_rank=1)}
    header, _, row = results_table(plain)
    assert 'retrieval top-1 without repeated takes' in header
    assert '| 75.0 |' in row


def _two_fold_store(tmp_path):
    """A synthetic store with two folds of its own: train on half the
    subjects' clips and test on the other half's, then the other way."""
    from msclr_plugin.data_prep.synthetic import generate_synthetic_store
    store = tmp_path / 'syn'
    generate_synthetic_store(str(store), num_clips_per_class_per_subject=1,
                             conventions=('kinectv2_25', 'coco'), num_subjects=4,
                             num_train_subjects=2, num_person=1,
                             classes=['wave_right_hand', 'squat', 'jump'])
    index = json.loads((store / 'index.json').read_text())
    a, b = index['splits']['xsub_train'], index['splits']['xsub_val']
    index['splits'].update(f1_train=a, f1_val=b, f2_train=b, f2_val=a)
    (store / 'index.json').write_text(json.dumps(index))
    return str(store), len(a) + len(b)


def test_folds_pool_the_test_clips_of_every_fold(tmp_path):
    """``--fold``: every row pretrained and evaluated per fold (configs and
    runs in a directory per test split), a seed's row pooling all folds'
    test clips; ``--repeat-takes`` reaches every evaluation."""
    store, num_clips = _two_fold_store(tmp_path)
    work = tmp_path / 'cmp'
    serial = ['num_workers=0', 'persistent_workers=False']
    tool = load_tool('compare_methods')
    with pytest.raises(SystemExit):
        tool.parse_args(['--store', store, '--conventions', 'kinectv2_25', 'coco',
                         '--splits', 'f1_train', 'f1_val', '--fold', 'f2_train', 'f2_val'])
    results = tool.main([
        '--store', store, '--conventions', 'kinectv2_25', 'coco', '--steps', '2',
        '--seeds', '0', '--jobs', '2', '--work-dir', str(work), '--no-builtin',
        '--method', 'ms=configs/msclr/demo/ms_aimclr_synthetic.py',
        '--fold', 'f1_train', 'f1_val', '--fold', 'f2_train', 'f2_val',
        '--repeat-takes', r'P\d+',  # one action's clips of both subjects
        '--pretrain-options', *(f'train_dataloader.{o}' for o in serial),
        '--eval-options', 'train_cfg.max_epochs=2',
        *(f'{loader}.{o}' for loader in ('train_dataloader', 'test_dataloader')
          for o in serial)])
    for name in ('ms', 'random_init', 'raw_joints'):
        pooled = results[name][0]
        assert pooled['num_test'] == num_clips
        assert [f['num_test'] for f in pooled['folds']] == [num_clips // 2] * 2
        assert [f['num_train'] for f in pooled['folds']] == [num_clips // 2] * 2
        # the hits of both folds' test clips
        hits = sum(f['linear']['top1'] * f['num_test'] for f in pooled['folds'])
        assert pooled['linear']['top1'] == pytest.approx(hits / num_clips)
        assert 'retrieval_without_repeats' in pooled['folds'][0]
    for fold in ('f1_val', 'f2_val'):
        cfg = Config.fromfile(str(work / 'configs' / fold / 'ms.py'))
        assert cfg.train_dataloader.dataset.split == fold.replace('val', 'train')
        assert Config.fromfile(str(work / 'configs' / fold / 'ms_linear.py')
                               ).test_dataloader.dataset.split == fold
        assert (work / 'seed0' / fold / 'ms_eval.json').is_file()
    table = (work / 'results.md').read_text()
    assert f'2 folds (train / test split: f1_train / f1_val, f2_train / f2_val), ' \
        f'{num_clips} test clips in all' in table
    assert 'retrieval top-1 without repeated takes' in table
    assert 'ms vs random_init, retrieval_unrepeated:' in table


def test_bandai_styles_preset_folds():
    tool = load_tool('compare_methods')
    args = tool.parse_args(['--preset', 'bandai_styles'])
    assert len(args.folds) == 7 and args.steps == 320
    assert ('xstyle_youthful_train', 'xstyle_youthful_val') in args.folds
    # --splits names one split instead
    args = tool.parse_args(['--preset', 'bandai_styles', '--splits', 'xstyle_train',
                            'xstyle_val'])
    assert args.folds == [] and args.splits == ['xstyle_train', 'xstyle_val']
    # tools/real_results.py runs each dataset's shipped configs once: no folds
    assert sorted(load_tool('real_results').DATASETS) == ['bandai', 'msr3d']


def test_missing_splits(tmp_path):
    store, _ = _two_fold_store(tmp_path)
    tool = load_tool('compare_methods')
    assert tool.missing_splits(store, ['f1_train', 'xstyle_val']) == ['xstyle_val']
    assert tool.missing_splits(str(tmp_path / 'none'), ['a']) == ['a']


def test_compare_results_across_runs_and_per_fold(tmp_path):
    """tools/analysis/compare_results.py: rows of two runs compared paired
    over their common seeds, and a fold run's per-fold means."""
    from msclr_plugin.utils.jobs import pool_folds

    def result(linear, num=10):
        return dict(num_test=num, reference='a', linear=dict(top1=linear))
    long = {'ms': {'0': pool_folds([result(0.6), result(0.8)]),
                   '1': pool_folds([result(0.4), result(0.6)])}}
    short = {'ms': {'0': pool_folds([result(0.5), result(0.5)]),
                    '1': pool_folds([result(0.5), result(0.3)]),
                    '2': pool_folds([result(0.9), result(0.9)])}}
    for name, rows in (('long', long), ('short', short)):
        (tmp_path / f'{name}.json').write_text(json.dumps(
            dict(results=rows, schedules={'f1_val': {}, 'f2_val': {}})))
    tool = load_tool('analysis/compare_results')
    runs = [f'l={tmp_path / "long.json"}', f's={tmp_path / "short.json"}']
    lines = tool.main([*runs, '--compare', 'l.ms', 's.ms', '--columns', 'linear'])
    # means 60.0 vs 60.0 (seed 2 too); paired over seeds 0 and 1 only: +20, +10
    assert lines[0].startswith('l.ms vs s.ms, linear: +0.0 points')
    assert lines[0].endswith('paired over 2 seeds +15.0 +- 7.1, higher in 2')
    lines = tool.main([*runs, '--seeds', '0', '1', '--per-fold', '--columns', 'linear'])
    assert lines == ['l.ms (linear, mean of 2 seeds): f1_val 50.0, f2_val 70.0',
                     's.ms (linear, mean of 2 seeds): f1_val 50.0, f2_val 40.0']
    with pytest.raises(SystemExit, match='no row l.nope'):
        tool.main([*runs, '--compare', 'l.nope', 's.ms'])
    # tools/real_results.py's results: rows per dataset
    (tmp_path / 'real.json').write_text(json.dumps(dict(results={'msr3d': long})))
    lines = tool.main([f'r={tmp_path / "real.json"}', runs[1], '--compare', 'r.msr3d.ms',
                       's.ms', '--columns', 'linear'])
    assert lines[0].endswith('paired over 2 seeds +15.0 +- 7.1, higher in 2')
    # a column the tables do not have is refused, not read as another
    with pytest.raises(SystemExit):
        tool.main([*runs, '--compare', 'l.ms', 's.ms', '--columns', 'cos_same'])
