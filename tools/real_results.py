"""MS-AimCLR vs AimCLR on real data, several seeds: the results page's table.

For each dataset (MSR Action3D cross-subject, Bandai mocap cross-style) and
seed, with the project's own tools (msclr_plugin/utils/jobs.py): convert the
data from ../shared/data if needed, pretrain AimCLR (the recorded convention)
and MS-AimCLR (the recorded convention + its COCO-17 rendering) with their
configs' schedules, train each linear probe, test it (MS-AimCLR also with
the skeleton-specific ensemble and with cross-convention transfer) and run
kNN, retrieval and the invariance tests; the raw-joints control (the same
evaluations on the input coordinates, no encoder) is a row of every
table. The multi-convention encoders (MS-AimCLR, its rows and the random
encoder) are evaluated after a per-convention precise BN, as the main job
(tools/demo.py) does; ``--paper-eval``: without it, as the paper.
Writes ``<work-dir>/results.json`` (every number per seed, the versions,
the machine, every command with its wall time) and
``<work-dir>/results.md`` (mean +- std over seeds); ``--update-docs FILE``
puts that table between the ``real-results`` markers of FILE. Nothing is
hand-edited; finished steps are reused when the job is re-run.

Example:
    python tools/real_results.py --seeds 0 1 2 --update-docs docs/results.md
"""
import argparse
import json
import os
import os.path as osp
import shlex
import sys
import time
from functools import partial

from mmengine.config import Config

from msclr_plugin.evaluation.precise_bn import MODES as PRECISE_BN_MODES
from msclr_plugin.utils.compare import PRESETS
from msclr_plugin.utils.jobs import (ROOT, JobRunner, add_jobs_arg, environment,
                                     last_checkpoint, metric_of, pretrain_and_evaluate,
                                     results_table, verdicts)

CFG = osp.join('configs', 'msclr')
# the built-in datasets of tools/compare_methods.py but its cross-validation
# ones; here each runs its own shipped configs (configs/msclr/*_<suffix>.py)
DATASETS = {name: p for name, p in PRESETS.items() if not p.get('folds')}
METHODS = ('aimclr', 'ms_aimclr')
# the evaluation option of the multi-convention encoders (the synthetic
# ablation's winner on retrieval, docs/results.md), sequential unless
# --precise-bn train, none with --paper-eval
PRECISE_BN = 'precise_bn_per_convention={}'
# an extra row's name is METHOD_NAME
MARKERS = ('<!-- real-results:begin -->', '<!-- real-results:end -->')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--datasets', nargs='+', default=list(DATASETS),
                        choices=list(DATASETS))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--work-dir', default='work_dirs/real_results')
    add_jobs_arg(parser)
    parser.add_argument('--update-docs', metavar='FILE',
                        help='replace the table between the real-results markers')
    parser.add_argument('--figures', metavar='DIR',
                        help='draw training curves, t-SNE and confusion matrix of '
                        'the first seed of MSR Action3D into DIR')
    parser.add_argument(
        '--table-only', action='store_true',
        help="re-render the table from <work-dir>/results.json (give the run's other "
        'arguments again); runs nothing')
    parser.add_argument(
        '--random-init', action='store_true',
        help='a row for the AimCLR encoder as initialised, not pretrained (every '
        'seed): what the evaluations give without pretraining')
    ms_eval = parser.add_mutually_exclusive_group()
    ms_eval.add_argument(
        '--paper-eval', action='store_true',
        help='evaluate the multi-convention encoders as the paper does, without the '
        'per-convention precise BN')
    ms_eval.add_argument(
        '--precise-bn', choices=PRECISE_BN_MODES, default='sequential',
        help="the multi-convention encoders' per-convention precise BN "
        '(tools/probe_eval.py --recalibrate-bn; default: %(default)s)')
    for flag, scope in (('--variant', 'first dataset and seed only'),
                        ('--row', 'every dataset and seed')):
        parser.add_argument(
            flag, nargs='+', action='append', default=[],
            metavar='METHOD:NAME [KEY=VALUE ...]',
            help=f'an extra row, {scope}: METHOD pretrained with the configs '
            '<METHOD>_<dataset>_<NAME>.py and linear/linear_<METHOD>_<dataset>_<NAME>.py '
            "where they exist (else the method's) and these --cfg-options (e.g. "
            'ms_aimclr:cross train_dataloader.dataset.pairing=cross); options written '
            'eval:KEY=VALUE go to the evaluation instead '
            '(e.g. eval:model.data_preprocessor.stream=joint)')
    return parser.parse_args(argv)


def variants(specs, flag='--variant'):
    """``[(method, name, pretraining options, evaluation options)]`` of the
    ``--variant`` (or ``--row``) arguments."""
    out = []
    for spec in specs:
        method, _, name = spec[0].partition(':')
        if method not in METHODS or not name:
            raise SystemExit(f'{flag} {spec[0]!r}: expected METHOD:NAME with METHOD in '
                             f'{list(METHODS)}')
        out.append((method, name, [o for o in spec[1:] if not o.startswith('eval:')],
                    [o[len('eval:'):] for o in spec[1:] if o.startswith('eval:')]))
    return out


def figures(jobs, ds, work, out_dir):
    """Curves of both methods, MS-AimCLR's t-SNE (test clips, both
    conventions) and its ensemble's confusion matrix, with the analysis tools."""
    py, spec = sys.executable, DATASETS[ds]
    os.makedirs(out_dir, exist_ok=True)
    jobs.run([py, 'tools/analysis/plot_curves.py', osp.join(work, 'aimclr_pretrain'),
              osp.join(work, 'ms_aimclr_pretrain'), '--labels', 'AimCLR', 'MS-AimCLR',
              '--keys', 'loss_nce', 'nce_top1', 'knn/top1',
              '--out', osp.join(out_dir, f'{ds}_curves.png')], osp.join(work, 'curves.log'))
    linear_cfg = osp.join(CFG, 'linear', f'linear_ms_aimclr_{spec["suffix"]}.py')
    jobs.run([py, 'tools/analysis/plot_embeddings.py', linear_cfg,
              last_checkpoint(osp.join(work, 'ms_aimclr_pretrain')),
              '--out', osp.join(out_dir, f'{ds}_tsne_ms_aimclr.png')],
             osp.join(work, 'tsne.log'))
    classes = osp.join(work, 'classes.txt')
    with open(osp.join(spec['store'], 'index.json')) as f, open(classes, 'w') as out:
        out.write('\n'.join(map(str, json.load(f)['classes'])) + '\n')
    jobs.run([py, 'tools/analysis/confusion_matrix.py',
              osp.join(work, 'ms_aimclr_scores', 'ensemble_scores.pkl'), '--classes', classes,
              '--out', osp.join(out_dir, f'{ds}_confusion_ms_aimclr_ensemble')],
             osp.join(work, 'confusion.log'))


def extra_rows(args):
    """``[(flag, method, name, pretraining options, evaluation options)]``
    of the ``--variant`` and ``--row`` arguments."""
    return [(flag, *v) for flag, specs in (('--variant', args.variant), ('--row', args.row))
            for v in variants(specs, flag)]


def config_of(method, suffix, name=None, linear=False):
    """A row's pretraining (or linear) config: the option's own
    (``..._<suffix>_<name>.py``) where it exists, else the method's."""
    stem = osp.join(CFG, *(('linear', f'linear_{method}') if linear else (method,)))
    stem = f'{stem}_{suffix}'
    return next(p for p in (f'{stem}_{name}.py', f'{stem}.py') if osp.isfile(p))


def table(results, seeds, extra, paper_eval=False, precise_bn='sequential'):
    """Markdown: per dataset, mean +- std per row (:func:`results_table`),
    the comparisons with the controls, then the per-seed values; ``extra``:
    :func:`extra_rows`."""
    lines = []
    for ds, rows in results.items():
        spec = DATASETS[ds]
        lines += [f'**{spec["title"]}**; AimCLR: {spec["recorded"]}; MS-AimCLR: the '
                  'same + its COCO-17 rendering. Mean +- sample std over seeds '
                  f'{", ".join(map(str, seeds))}.', '', *results_table(rows), '']
        for flag, method, name, opts, eval_opts in extra:
            if f'{method}_{name}' not in rows:
                continue
            configs = (osp.basename(config_of(method, spec['suffix'], name, linear))
                       for linear in (False, True))
            opts = ' '.join(opts + [f'eval:{o}' for o in eval_opts])
            lines.append(f'- {method}_{name}: `{flag} {method}:{name}'
                         + (f' {opts}`' if opts else '`')
                         + (' (`eval:` options go to the evaluation)' if eval_opts else '')
                         + (f', seed {seeds[0]} only' if flag == '--variant' else '')
                         + f'; configs `{"`, `".join(configs)}`')
        if 'random_init' in rows:
            lines.append("- random_init: MS-AimCLR's encoder as initialised "
                         '(`tools/train.py --init-only`), not pretrained; same evaluations')
        lines.append('- raw_joints: no encoder, the evaluation pipeline\'s coordinates '
                     '(`tools/probe_eval.py --raw-joints`): linear probe and kNN on all '
                     'joints, retrieval and the convention probe on the joints both '
                     'conventions have by name')
        lines.append('- the multi-convention encoders (ms_aimclr*, random_init): ' + (
            'evaluated as the paper (`--paper-eval`: no precise BN)' if paper_eval else
            'evaluated after a per-convention precise BN (`--cfg-options '
            f'{PRECISE_BN.format(precise_bn)}` of tools/probe_eval.py)'))
        lines += [f'- {line}' for line in verdicts(rows)]
        for method, per_seed in rows.items():
            lines.append(
                f'- {method} per seed (linear / kNN / retrieval top-1 / convention '
                'probe): ' + '; '.join(f'seed {s}: ' + ' / '.join(
                    '-' if v is None else f'{v:.1f}' for v in (metric_of(r, c) for c in (
                        'linear', 'knn', 'retrieval', 'convention_probe')))
                    for s, r in per_seed.items()))
        lines.append('')
    return lines


def run_all(args):
    """Every dataset x row x seed, ``--jobs`` at a time; returns the results
    and the job records."""
    jobs = JobRunner('real', threads=1, preload=args.preload)
    keys, tasks, stages = [], [], []
    for ds in args.datasets:
        spec = DATASETS[ds]
        work = osp.join(args.work_dir, ds)
        os.makedirs(work, exist_ok=True)
        if not osp.isfile(osp.join(spec['store'], 'index.json')):
            jobs.run([sys.executable, *spec['convert']], osp.join(work, 'convert.log'))
        # (method, row, option name, pretraining options (None: not
        # pretrained), evaluation options, seeds)
        runs = [(method, method, None, [], [], args.seeds) for method in METHODS]
        if args.random_init:
            runs.append(('ms_aimclr', 'random_init', None, None, [], args.seeds))
        runs.append(('ms_aimclr', 'raw_joints', None, None, [], args.seeds))
        runs += [(method, f'{method}_{name}', name, opts, eval_opts,
                  args.seeds[:1] if flag == '--variant' else args.seeds)
                 for flag, method, name, opts, eval_opts in extra_rows(args)
                 if flag == '--row' or ds == args.datasets[0]]
        for method, row, name, opts, eval_opts, seeds in runs:
            pretrain_cfg = None if row == 'raw_joints' else config_of(
                method, spec['suffix'], name)
            eval_cfg = config_of(method, spec['suffix'], name, linear=True)
            if method == 'ms_aimclr' and pretrain_cfg and not args.paper_eval:
                eval_opts = [PRECISE_BN.format(args.precise_bn), *eval_opts]
            epochs = 0
            if opts is not None:
                epochs = Config.fromfile(pretrain_cfg).train_cfg.max_epochs
                epochs = int(dict(o.split('=', 1) for o in opts).get(
                    'train_cfg.max_epochs', epochs))
            for seed in seeds:
                keys.append((ds, row, seed))
                stages.append(2 if name else int(opts is not None))
                tasks.append((f'{ds} {row} seed {seed}', partial(
                    pretrain_and_evaluate, jobs, osp.join(work, f'seed{seed}'), row,
                    pretrain_cfg=pretrain_cfg, eval_cfg=eval_cfg, epochs=epochs,
                    seed=seed, pretrain_opts=opts or [], eval_opts=eval_opts)))
    # the controls first (quick: a failure shows early), the extra rows last;
    # the tables keep the order above
    order = sorted(range(len(tasks)), key=stages.__getitem__)
    done = dict(zip(order, jobs.map([tasks[i] for i in order], args.jobs)))
    results = {ds: {} for ds in args.datasets}
    for i, (ds, row, seed) in enumerate(keys):
        results[ds].setdefault(row, {})[seed] = done[i]
    if args.figures and 'msr3d' in args.datasets:
        figures(jobs, 'msr3d', osp.join(args.work_dir, 'msr3d', f'seed{args.seeds[0]}'),
                args.figures)
    return results, jobs.records


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    os.chdir(ROOT)
    saved = osp.join(args.work_dir, 'results.json')
    if args.table_only:
        with open(saved) as f:
            record = json.load(f)
    else:
        start = time.time()
        results, commands = run_all(args)
        record = dict(results=results, seeds=args.seeds, environment=environment(),
                      wall_seconds=round(time.time() - start), commands=commands,
                      argv=argv)
        with open(saved, 'w') as f:
            json.dump(record, f, indent=1)
    # JSON turned the seeds into strings
    results = {ds: {row: {int(s): r for s, r in per_seed.items()}
                    for row, per_seed in rows.items()}
               for ds, rows in record['results'].items()}
    lines = table(results, record['seeds'], extra_rows(args), args.paper_eval,
                  args.precise_bn)
    command = ' '.join(shlex.quote(a) for a in record.get('argv', argv)
                       if a != '--table-only')
    lines.append(f'Produced by `python tools/real_results.py {command}` in '
                 f'{record["wall_seconds"] / 60:.0f} min ({record["environment"]["cpus"]} '
                 'CPUs); commands, versions and per-step times in its results.json.')
    print('\n'.join(lines))
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    if args.update_docs:
        with open(args.update_docs) as f:
            text = f.read()
        begin, end = (text.index(m) for m in MARKERS)
        text = text[:begin + len(MARKERS[0])] + '\n' + '\n'.join(lines) + '\n' + text[end:]
        with open(args.update_docs, 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
