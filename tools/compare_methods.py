"""Compare pretraining methods on any skeleton store, several seeds, equal steps.

For a store (``tools/data/*_to_store.py``, ``arrays_to_store.py``), its
conventions (the reference first, or ``--reference``) and split names, and
for every seed, with the project's own tools (msclr_plugin/utils/jobs.py):
pretrain AimCLR (the reference convention), MS-AimCLR (all conventions) and
every ``--method NAME=CONFIG``, each for the same step budget (``--steps``,
default the main job's 512): the epochs, the mining epoch, the lr
milestones and the checkpoint interval are derived from the budget and the
store's size (msclr_plugin/utils/compare.py); then ``tools/probe_eval.py``
evaluates each frozen encoder (linear probe, kNN, ensemble, transfer,
retrieval, convention probe, cosines), the random-encoder control
(MS-AimCLR's encoder as initialised) and the raw-joints control (no
encoder). Prints and writes ``<work-dir>/results.md`` (mean +- std over the
seeds, the 2-std verdicts) and ``results.json`` (every number, the
generated configs, every command with its time). The generated configs are
in ``<work-dir>/configs``; finished steps are reused when re-run.

With ``--fold TRAIN TEST`` (repeated; the ``bandai_styles`` preset has one
per style) every method is pretrained and evaluated once per fold and seed
(``<work-dir>/seed<s>/<TEST>/``), and a seed's row pools the folds' test
clips: each fraction weighted by its fold's test clips, the counts summed
(the median rank is left out: medians do not pool).

Examples:
    python tools/compare_methods.py --store data/my_store \\
        --conventions msr_action3d_20 coco --seeds 0 1 2
    python tools/compare_methods.py --preset msr3d --seeds 0 1 2 3 4
    python tools/compare_methods.py --preset bandai_styles --seeds 0 1 2 3 4 \\
        --repeat-takes '_\\d+$'
    python tools/compare_methods.py --store data/my_store --conventions kinectv2_25 coco \\
        --method long_queue=my_configs/ms_aimclr_queue.py --steps 1024
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from functools import partial

from mmengine.config import DictAction

from msclr_plugin.utils.compare import (MAIN_JOB_STEPS, METHODS, PRESETS,
                                        default_linear, eval_config,
                                        is_multi_convention, parse_method,
                                        pretrain_config)
from msclr_plugin.utils.jobs import (ROOT, JobRunner, add_jobs_arg, environment,
                                     pool_folds, pretrain_and_evaluate, results_table,
                                     verdicts)
from msclr_plugin.utils.train_steps import set_train_steps


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--preset', choices=sorted(PRESETS),
                        help='a built-in dataset (converted from ../shared/data if '
                        'needed): its store, conventions, splits and step budget')
    parser.add_argument('--store', help='the skeleton store (a directory with index.json)')
    parser.add_argument('--conventions', nargs='+',
                        help="the store's conventions to use, the reference first")
    parser.add_argument('--reference', help='reference convention (AimCLR, the probe, '
                        'kNN; default: the first of --conventions)')
    parser.add_argument('--splits', nargs=2, metavar=('TRAIN', 'TEST'),
                        help='split names (default: xsub_train xsub_val)')
    parser.add_argument('--fold', nargs=2, action='append', metavar=('TRAIN', 'TEST'),
                        help='a cross-validation fold (repeat for each): every method '
                        "is run on each fold's splits and a seed's row pools their "
                        'test clips (instead of --splits)')
    parser.add_argument('--steps', type=int,
                        help=f'pretraining steps of every method (default: the main '
                        f"job's {MAIN_JOB_STEPS}, or the preset's)")
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument(
        '--method', action='append', default=[], metavar='NAME=PRETRAIN[,LINEAR]',
        help='another row: a pretraining config (and its linear-evaluation config; '
        "default: the main job's of as many conventions), run like the others")
    parser.add_argument('--no-builtin', action='store_true',
                        help='leave out the AimCLR and MS-AimCLR rows')
    parser.add_argument('--random-init-each', action='store_true',
                        help="a random-encoder control per method (random_init_<name>: "
                        "its encoder as initialised) instead of the multi-convention "
                        "method's only; each method is compared with its own")
    parser.add_argument('--pretrain-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='--cfg-options of every pretraining')
    parser.add_argument('--eval-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='--cfg-options of every evaluation')
    parser.add_argument('--repeat-takes', metavar='REGEX',
                        help='--repeat-takes of every evaluation (tools/probe_eval.py): '
                        'retrieval also without the repeated takes of a clip')
    parser.add_argument('--work-dir', help='default: work_dirs/compare/<store name>')
    add_jobs_arg(parser)
    parser.add_argument('--dry-run', action='store_true',
                        help='write the configs and print the schedules, run nothing')
    args = parser.parse_args(argv)
    preset = PRESETS.get(args.preset, {})
    args.store = args.store or preset.get('store')
    args.conventions = args.conventions or preset.get('conventions')
    if not args.store or not args.conventions:
        parser.error('give --store and --conventions, or --preset')
    args.reference = args.reference or args.conventions[0]
    if args.reference not in args.conventions:
        parser.error(f'--reference {args.reference} is not one of --conventions')
    if args.fold and args.splits:
        parser.error('give --splits or --fold, not both')
    # a preset's folds unless --splits names one split
    args.folds = [tuple(f) for f in args.fold or
                  ([] if args.splits else preset.get('folds', []))]
    args.splits = args.splits or list(preset.get('splits', ('xsub_train', 'xsub_val')))
    args.steps = args.steps or preset.get('steps', MAIN_JOB_STEPS)
    args.work_dir = args.work_dir or osp.join(
        'work_dirs', 'compare', osp.basename(osp.normpath(args.store)))
    return args


def prepare(args, splits=None, out=None):
    """Generate every method's configs for the splits (default
    ``args.splits``) in ``out`` (default ``<work-dir>/configs``): ``[(row,
    pretraining config, its epochs, evaluation config)]`` and a description
    of each method's schedule."""
    splits = splits or args.splits
    methods = [] if args.no_builtin else [(name, *cfgs) for name, cfgs in METHODS.items()]
    methods += [parse_method(spec) for spec in args.method]
    if len({m[0] for m in methods}) != len(methods):
        raise SystemExit('error: two methods of the same name')
    out = out or osp.join(args.work_dir, 'configs')
    os.makedirs(out, exist_ok=True)
    rows, schedules, multi = [], {}, []
    for name, pre_path, linear_path in methods:
        for path in (pre_path, linear_path):
            if path and not osp.isfile(path):
                raise SystemExit(f'error: method {name}: no config {path}')
        pre = pretrain_config(pre_path, args.store, args.conventions, args.reference,
                              splits)
        if args.pretrain_options:
            pre.merge_from_dict({k: DictAction._parse_iterable(v) for k, v in
                                 (o.split('=', 1) for o in args.pretrain_options)})
        fitted = set_train_steps(pre, args.steps)
        epochs, realised = pre.train_cfg.max_epochs, fitted['steps']
        per_epoch = fitted['per_epoch'][0]
        schedules[name] = dict(epochs=epochs, steps=realised, steps_per_epoch=per_epoch,
                               mining_epoch=pre.model.get('mining_epoch'),
                               config=pre_path)
        linear = eval_config(linear_path or default_linear(pre), pre, args.store,
                             args.reference, splits)
        pre_file, linear_file = (osp.join(out, f'{name}{kind}.py')
                                 for kind in ('', '_linear'))
        pre.dump(pre_file)
        linear.dump(linear_file)
        rows.append((name, pre_file, epochs, linear_file))
        if is_multi_convention(pre):
            multi.append(rows[-1])
    if not rows:
        raise SystemExit('error: no method to compare (--no-builtin without --method)')
    # the controls, with the evaluation of the multi-convention encoder (the
    # built-in one, else the first; else the last method's)
    control = next((r for r in multi if r[0] == 'ms_aimclr'), multi[0] if multi else rows[-1])
    randoms = ([(f'random_init_{name}', pre, 0, linear) for name, pre, _, linear in rows]
               if args.random_init_each else [('random_init', control[1], 0, control[3])])
    rows += [*randoms, ('raw_joints', None, 0, control[3])]
    return rows, schedules


def header(args, schedules, num_test):
    """The lines above the table: the data, and every method's schedule
    (``schedules``: ``{name: schedule}``, or ``{test split: {name:
    schedule}}`` with folds)."""
    if args.folds:
        data = (f'{len(args.folds)} folds (train / test split: '
                + ', '.join(f'{train} / {test}' for train, test in args.folds)
                + f'), {num_test} test clips in all, pooled per seed')
        per_fold = list(schedules.values())
    else:
        data = f'splits {args.splits[0]} / {args.splits[1]}, {num_test} test clips'
        per_fold = [schedules]
    lines = [f'Store `{args.store}`: conventions {", ".join(args.conventions)} '
             f'(reference {args.reference}), {data}; seeds '
             f'{", ".join(map(str, args.seeds))}: mean +- sample std over seeds.', '']
    for name, s in per_fold[0].items():
        # one schedule, or the folds' (their training splits differ in size)
        plan, mining = (', '.join(dict.fromkeys(text.format(**f[name]) for f in per_fold))
                        for text in ('{epochs} epochs x {steps_per_epoch} steps = {steps} '
                                     'steps', '{mining_epoch}'))
        lines.append(f'- {name}: `{s["config"]}`, {plan} (budget {args.steps}'
                     f'{" each fold" if args.folds else ""}), mining from epoch {mining}')
    lines += [f"- {'random_init_<method>' if args.random_init_each else 'random_init'}: "
              f"the encoder of {'each' if args.random_init_each else 'the multi-convention'} "
              'method as initialised (`tools/train.py --init-only`), not pretrained',
              "- raw_joints: no encoder, the evaluation pipeline's coordinates "
              '(`tools/probe_eval.py --raw-joints`); retrieval and convention probe on '
              'the joints the conventions share by name', '']
    if args.folds:
        lines += ["- folds: a seed's row pools the folds' test clips (fractions weighted "
                  "by each fold's test clips); no median rank (medians do not pool)", '']
    return lines


def missing_splits(store, splits):
    """The split names a store's ``index.json`` lacks (all of them without
    one)."""
    path = osp.join(store, 'index.json')
    if not osp.isfile(path):
        return list(splits)
    with open(path) as f:
        have = json.load(f).get('splits', {})
    return [s for s in splits if s not in have]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    os.chdir(ROOT)
    start = time.time()
    jobs = JobRunner('compare', threads=1, preload=args.preload)
    os.makedirs(args.work_dir, exist_ok=True)
    preset = PRESETS.get(args.preset)
    folds = args.folds or [tuple(args.splits)]
    if preset:
        missing = missing_splits(args.store, [s for f in folds for s in f])
        if missing and osp.isfile(osp.join(args.store, 'index.json')):
            # a store converted before the preset's splits existed
            print(f'{args.store} has no split {", ".join(missing)}: converting it again')
        if missing:
            jobs.run([sys.executable, *preset['convert']],
                     osp.join(args.work_dir, 'convert.log'))
    # a fold's configs and runs are in a directory named after its test split
    subdir = {fold: fold[1] if args.folds else '' for fold in folds}
    plans = {fold: prepare(args, fold, osp.join(args.work_dir, 'configs', subdir[fold]))
             for fold in folds}
    schedules = ({fold[1]: plan[1] for fold, plan in plans.items()} if args.folds
                 else plans[folds[0]][1])
    if args.dry_run:
        print('\n'.join(header(args, schedules, '?')))
        print(f'configs in {osp.join(args.work_dir, "configs")}')
        return None
    eval_args = ['--repeat-takes', args.repeat_takes] if args.repeat_takes else []
    keys, tasks = [], []
    for seed in args.seeds:
        for fold in folds:
            for name, pre_file, epochs, linear_file in plans[fold][0]:
                keys.append((name, seed))
                tasks.append((f'{name} seed {seed}' + (f' {fold[1]}' if args.folds else ''),
                              partial(pretrain_and_evaluate, jobs,
                                      osp.join(args.work_dir, f'seed{seed}', subdir[fold]),
                                      name, pretrain_cfg=pre_file, eval_cfg=linear_file,
                                      epochs=epochs, seed=seed, eval_args=eval_args,
                                      eval_opts=args.eval_options)))
    per_fold = {}
    for key, result in zip(keys, jobs.map(tasks, args.jobs)):
        per_fold.setdefault(key, []).append(result)
    results = {name: {} for name, *_ in plans[folds[0]][0]}
    for (name, seed), found in per_fold.items():
        results[name][seed] = pool_folds(found) if args.folds else found[0]
    seconds = time.time() - start
    num_test = next(iter(results['raw_joints'].values()))['num_test']
    lines = [*header(args, schedules, num_test), *results_table(results), '',
             *verdicts(results), '',
             f'Produced by `python tools/compare_methods.py {" ".join(argv)}` in '
             f'{seconds / 60:.1f} min ({os.cpu_count()} CPUs).']
    print('\n'.join(lines))
    with open(osp.join(args.work_dir, 'results.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    with open(osp.join(args.work_dir, 'results.json'), 'w') as f:
        json.dump(dict(results=results, seeds=args.seeds, schedules=schedules, table=lines,
                       argv=argv, environment=environment(), seconds=round(seconds),
                       commands=jobs.records), f, indent=1)
    return results


if __name__ == '__main__':
    main()
