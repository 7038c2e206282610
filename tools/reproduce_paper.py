"""Every pretraining and evaluation behind the paper's Tables 1-3, then the tables.

MS-CLR's Tables 1-3 (linear evaluation, top-1 %, NTU-60 xview/xsub and
NTU-120 xset/xsub): AimCLR and MS-AimCLR joint (j), motion (m) and bone (b)
streams, their fusion (3s: raw scores weighted 0.6/0.6/0.4 for
joint/bone/motion, tools/ensemble.py), 3s-MS-AimCLR with the
skeleton-specific classifier ensemble, and single-stream (joint) MS-AimCLR
with the ensemble (Tables 2-3). The published numbers are the project's data
file msclr_plugin/evaluation/paper_tables.json; every row is printed beside
them (the peers of Tables 2-3 with their published numbers only). Per model,
benchmark and stream this runs, with the project's tools:

1. tools/train.py (tools/dist_train.sh with --gpus N, tools/slurm_train.sh
   with --slurm PARTITION) on configs/msclr/<model>_<benchmark>[_bone|_motion].py
   (model aimclr: the single-convention AimCLR baseline, ms_aimclr);
2. the linear probe (linear/linear_<model>_<...>.py) and, for MS-AimCLR, the
   skeleton-specific ensemble probe (linear/linear_ms_aimclr_<...>_ensemble.py)
   on the frozen encoder;
3. tools/test.py --dump on each probe's best checkpoint (AimCLR and MS-CLR
   report the best top-1 over the evaluations);

then fuses the dumps and prints the tables.

The paper trains with one GPU and batch 128 (lr 0.1; probes lr 3.0). With
--gpus N every training keeps that global batch: each process gets 128 / N
(N must divide it), so lr and schedule stay the paper's. --auto-scale-lr
instead keeps 128 per process (global 128 N) and scales lr by N (linear
rule, logged): a different experiment from the paper's.

The ensemble probes combine their per-convention classifiers by
--ensemble-rule: 'logits' (default; the authors' code, which produced the
published numbers) or 'softmax' (the paper's text); docs/evaluation.md.

Stores come from docs/data_preparation.md (data/stores/ntu60_msclr,
data/stores/ntu120_msclr; --stores to point elsewhere). A step whose
output exists (final checkpoint, dump) is not run again, and every training
is started with --resume, so an interrupted run continues where it stopped.
--gpu-report gpu_check.json (tools/gpu_check.py) adds estimated GPU hours
per row from the measured step time of the NTU-60 pretraining config.
--transfer adds transfer learning: the NTU-60 / NTU-120 xsub MS-AimCLR joint
pretrainings (shared with Table 1) -> PKU-MMD II xsub, linear probe and
fine-tuning (configs/msclr/linear/transfer_*.py).

Examples:
    python tools/reproduce_paper.py --dry-run --gpus 8     # every command
    python tools/reproduce_paper.py --gpus 8 --gpu-report gpu_check.json
    python tools/reproduce_paper.py --models ms_aimclr --benchmarks ntu60_xsub \
        --gpus 4 --stores ntu60=/data/stores/ntu60_msclr
    python tools/reproduce_paper.py --slurm gpu_partition --gpus 8
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys

from msclr_plugin.utils.jobs import ROOT, JobRunner, finished

CFG = osp.join('configs', 'msclr')
TABLES = osp.join(ROOT, 'msclr_plugin', 'evaluation', 'paper_tables.json')
BENCHMARKS = ('ntu60_xview', 'ntu60_xsub', 'ntu120_xset', 'ntu120_xsub')
# (stream, the paper's letter, config suffix), in the tables' order
STREAMS = (('joint', 'j', ''), ('motion', 'm', '_motion'), ('bone', 'b', '_bone'))
# tools/ensemble.py's default weights belong to joint, bone, motion
FUSION_ORDER = ('joint', 'bone', 'motion')
# model: its name in the tables and its probes (name, config suffix)
MODELS = {
    'aimclr': ('AimCLR', (('linear', ''), )),
    'ms_aimclr': ('MS-AimCLR', (('linear', ''), ('ensemble', '_ensemble'))),
}
# the dumps behind each published row: (model, probe, streams fused)
OURS = {
    ('AimCLR', 'j'): ('aimclr', 'linear', ('joint', )),
    ('AimCLR', 'm'): ('aimclr', 'linear', ('motion', )),
    ('AimCLR', 'b'): ('aimclr', 'linear', ('bone', )),
    ('3s-AimCLR', 'j+m+b'): ('aimclr', 'linear', FUSION_ORDER),
    ('MS-AimCLR', 'j'): ('ms_aimclr', 'linear', ('joint', )),
    ('MS-AimCLR', 'm'): ('ms_aimclr', 'linear', ('motion', )),
    ('MS-AimCLR', 'b'): ('ms_aimclr', 'linear', ('bone', )),
    ('3s-MS-AimCLR', 'j+m+b'): ('ms_aimclr', 'linear', FUSION_ORDER),
    ('3s-MS-AimCLR + ensemble', 'j+m+b'): ('ms_aimclr', 'ensemble', FUSION_ORDER),
    ('MS-AimCLR + ensemble', 'j'): ('ms_aimclr', 'ensemble', ('joint', )),
}
# training clips of each benchmark (the datasets' papers): epoch length for
# the GPU-hour estimate
TRAIN_CLIPS = {'ntu60_xsub': 40320, 'ntu60_xview': 37920,
               'ntu120_xsub': 63026, 'ntu120_xset': 54471}
# the gpu_check epoch slice whose step time the estimate uses
MEASURED_CONFIG = 'configs/msclr/ms_aimclr_ntu60_xsub.py'
STORES = {'ntu60': 'data/stores/ntu60_msclr', 'ntu120': 'data/stores/ntu120_msclr',
          'pku2': 'data/stores/pku2_msclr'}
# transfer learning (--transfer): pretrainings -> PKU-MMD II xsub protocols
TRANSFER_SOURCES = ('ntu60_xsub', 'ntu120_xsub')
TRANSFER_PROTOCOLS = ('linear', 'finetune')


def load_paper_tables(path: str = TABLES) -> dict:
    """The published numbers (rows of Tables 1-3, top-1 % per benchmark)."""
    with open(path) as f:
        return json.load(f)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--models', nargs='+', default=list(MODELS),
                        choices=list(MODELS))
    parser.add_argument('--benchmarks', nargs='+', default=list(BENCHMARKS),
                        choices=BENCHMARKS)
    parser.add_argument('--work-dir', default='work_dirs/reproduce_paper')
    parser.add_argument('--gpus', type=int, default=0,
                        help='processes (GPUs) per job: torchrun via '
                        'tools/dist_*.sh, or slurm tasks with --slurm; the '
                        "global batch stays the paper's 128; 0: one process, "
                        'as tools/train.py chooses the device')
    parser.add_argument(
        '--slurm', metavar='PARTITION',
        help='jobs through tools/slurm_{train,test}.sh, --gpus tasks each')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help="batch 128 per process, lr x N (linear rule, logged; not the paper's)")
    parser.add_argument('--ensemble-rule', choices=('logits', 'softmax'),
                        help="how the ensemble probes combine their classifiers "
                        "(default: the data file's, 'logits': the authors' code, "
                        'which produced the published numbers)')
    parser.add_argument('--transfer', action='store_true',
                        help='also transfer learning: the NTU-60 / NTU-120 xsub '
                        'MS-AimCLR pretrainings -> PKU-MMD II xsub, linear probe '
                        'and fine-tuning (configs/msclr/linear/transfer_*.py)')
    parser.add_argument('--stores', nargs='+', default=[], metavar='NAME=DIR',
                        help='store directories, e.g. ntu60=/data/ntu60_msclr '
                        f'(defaults: {STORES})')
    parser.add_argument('--gpu-report', metavar='PATH',
                        help='gpu_check.json of tools/gpu_check.py: estimated '
                        'GPU hours per row from its measured step time')
    parser.add_argument('--pretrain-epochs', type=int,
                        help="override the configs' 300 epochs (quick runs)")
    parser.add_argument('--linear-epochs', type=int,
                        help="override the probes' 100 epochs")
    parser.add_argument('--seed', type=int, help='--seed of every training')
    parser.add_argument('--dry-run', action='store_true',
                        help='print every command, run nothing')
    args = parser.parse_args(argv)
    if args.slurm and args.gpus < 1:
        parser.error('--slurm needs --gpus N (tasks per job)')
    return args


_CONFIGS = {}


def load_config(config: str):
    if config not in _CONFIGS:
        from mmengine.config import Config
        _CONFIGS[config] = Config.fromfile(osp.join(ROOT, config))
    return _CONFIGS[config]


def max_epochs(config: str, override) -> int:
    if override is not None:
        return override
    return int(load_config(config).train_cfg.max_epochs)


def best_checkpoint(work_dir: str, placeholder: bool) -> str:
    """The probe's best checkpoint (``save_best='acc/top1'``); with
    ``placeholder``, a stand-in name when there is none yet."""
    found = glob.glob(osp.join(work_dir, 'best_acc_top1_epoch_*.pth'))
    if found:
        return max(found, key=osp.getmtime)
    if placeholder:
        return osp.join(work_dir, 'best_acc_top1_epoch_<N>.pth')
    sys.exit(f'no best_acc_top1_epoch_*.pth in {work_dir}: did the probe '
             'evaluate (val_interval)?')


def batch_plan(config: str, processes: int, auto_scale_lr: bool):
    """``(train.py options, cfg-options, log line)`` that give ``config``
    its global batch over ``processes`` processes.

    The configs hold the paper's single-GPU batch and lr. Kept: each process
    takes ``batch / processes`` (which must divide). With ``auto_scale_lr``
    each process keeps ``batch`` and lr scales with the global batch
    (mmengine's ``auto_scale_lr``, ``base_batch_size`` = the batch).
    """
    cfg = load_config(config)
    batch = int(cfg.train_dataloader.batch_size)
    lr = cfg.optim_wrapper.optimizer.lr
    if auto_scale_lr:
        base = int(cfg.auto_scale_lr.base_batch_size)
        scaled = lr * batch * processes / base
        return (['--auto-scale-lr'], [],
                f'{config}: --auto-scale-lr: global batch {batch * processes} '
                f'({batch} x {processes} processes), lr {lr:g} -> {scaled:g} '
                "(linear scaling rule; not the paper's batch)")
    if batch % processes:
        sys.exit(f'{config}: batch {batch} cannot be split over {processes} '
                 'processes; use a --gpus that divides it, or --auto-scale-lr '
                 '(global batch x N, lr scaled)')
    return ([], [f'train_dataloader.batch_size={batch // processes}'],
            f'{config}: global batch {batch} ({batch // processes} x '
            f'{processes} processes), lr {lr:g} as configured')


class Reproduction:
    """Runs (or prints) the commands of the Tables 1-3 reproduction."""

    def __init__(self, args, tables: dict) -> None:
        self.args = args
        self.work = osp.abspath(args.work_dir)
        self.jobs = JobRunner('reproduce', dry_run=args.dry_run)
        self.rule = args.ensemble_rule or tables['ensemble_rule']
        self.plans = {}
        self.pretrained = {}
        self.stores = dict(STORES)
        for item in args.stores:
            name, _, path = item.partition('=')
            if name not in STORES or not path:
                sys.exit(f'--stores takes NAME=DIR with NAME in {sorted(STORES)}, '
                         f'got {item!r}')
            self.stores[name] = path

    def _launch(self, tool: str, config: str, *positional) -> list:
        """The command line that starts ``tools/<tool>.py`` on ``config``."""
        n, name = self.args.gpus, osp.splitext(osp.basename(config))[0]
        if self.args.slurm:
            return ['env', f'GPUS={n}', f'GPUS_PER_NODE={min(n, 8)}', 'bash',
                    f'tools/slurm_{tool}.sh', self.args.slurm, name, config,
                    *positional]
        if n:
            return ['bash', f'tools/dist_{tool}.sh', config, *positional, str(n)]
        return [sys.executable, f'tools/{tool}.py', config, *positional]

    def _train(self, config: str, work_dir: str, options) -> list:
        extra, batch = [], []
        if self.args.gpus > 1:
            if config not in self.plans:
                self.plans[config] = batch_plan(config, self.args.gpus,
                                                self.args.auto_scale_lr)
                print(f'[reproduce] {self.plans[config][2]}', flush=True)
            extra, batch, _ = self.plans[config]
        seed = [] if self.args.seed is None else ['--seed', str(self.args.seed)]
        return self._launch('train', config) + [
            '--work-dir', work_dir, '--resume', *seed, *extra, '--cfg-options',
            *options, *batch]

    def _test(self, config: str, ckpt: str, work_dir: str, dump: str,
              options) -> list:
        return self._launch('test', config, ckpt) + [
            '--work-dir', work_dir, '--dump', dump, '--cfg-options', *options]

    def _step(self, done: bool, cmd: list, log: str) -> None:
        if done:
            print(f'[reproduce] done: {" ".join(map(str, cmd))}', flush=True)
        else:
            self.jobs.run(cmd, log)

    def pretrain(self, model: str, bench: str, suffix: str) -> str:
        """Pretrain one stream (once per run); returns its final checkpoint."""
        args, name = self.args, f'{model}_{bench}{suffix}'
        if name in self.pretrained:
            return self.pretrained[name]
        store = self.stores[bench.split('_')[0]]
        if not args.dry_run and not osp.isfile(osp.join(store, 'index.json')):
            sys.exit(f'{store}: no skeleton store (docs/data_preparation.md, or '
                     'point --stores to it)')
        base = osp.join(self.work, name)
        if not args.dry_run:
            os.makedirs(base, exist_ok=True)
        pre_cfg = osp.join(CFG, f'{name}.py')
        epochs = max_epochs(pre_cfg, args.pretrain_epochs)
        pre_dir = osp.join(base, 'pretrain')
        self._step(finished(pre_dir, epochs),
                   self._train(pre_cfg, pre_dir, [
                       f'train_cfg.max_epochs={epochs}',
                       f'train_dataloader.dataset.ann_file={store}'
                   ]), osp.join(base, 'pretrain.log'))
        self.pretrained[name] = osp.join(pre_dir, f'epoch_{epochs}.pth')
        return self.pretrained[name]

    def stream(self, model: str, bench: str, suffix: str) -> dict:
        """Pretrain one stream and test its probes; returns the dumps."""
        name = f'{model}_{bench}{suffix}'
        pre_ckpt = self.pretrain(model, bench, suffix)
        store = self.stores[bench.split('_')[0]]
        dumps = {}
        for probe, probe_suffix in MODELS[model][1]:
            cfg = osp.join(CFG, 'linear', f'linear_{name}{probe_suffix}.py')
            rule = ([f'model.cls_head.view_fusion={self.rule}']
                    if probe == 'ensemble' else [])
            dumps[probe] = self.evaluate(cfg, pre_ckpt, store,
                                         osp.join(self.work, name), probe, rule)
        return dumps

    def evaluate(self, cfg: str, pre_ckpt: str, store: str, base: str,
                 probe: str, options=()) -> str:
        """Train the evaluation ``cfg`` on the pretraining ``pre_ckpt`` and
        test its best checkpoint; returns the score dump."""
        args = self.args
        data = [f'{loader}.dataset.ann_file={store}'
                for loader in ('train_dataloader', 'val_dataloader',
                               'test_dataloader')] + list(options)
        lin_epochs = max_epochs(cfg, args.linear_epochs)
        lin_dir = osp.join(base, probe)
        self._step(finished(lin_dir, lin_epochs),
                   self._train(cfg, lin_dir, [
                       f'model.backbone.init_cfg.checkpoint={pre_ckpt}',
                       f'train_cfg.max_epochs={lin_epochs}', *data
                   ]), osp.join(base, f'{probe}.log'))
        dump = osp.join(base, f'{probe}_scores.pkl')
        ckpt = best_checkpoint(lin_dir, args.dry_run or osp.isfile(dump))
        self._step(osp.isfile(dump),
                   self._test(cfg, ckpt, osp.join(base, f'{probe}_test'), dump,
                              data), osp.join(base, f'{probe}_test.log'))
        return dump

    def transfer(self) -> dict:
        """NTU-60 / NTU-120 xsub pretraining (MS-AimCLR joint, shared with
        Table 1) -> PKU-MMD II xsub, linear probe and fine-tuning; returns
        ``{(source, protocol): dump}``."""
        store = self.stores['pku2']
        if not self.args.dry_run and not osp.isfile(osp.join(store, 'index.json')):
            sys.exit(f'{store}: no PKU-MMD II store (docs/data_preparation.md, '
                     'or --stores pku2=DIR)')
        dumps = {}
        for source in TRANSFER_SOURCES:
            pre_ckpt = self.pretrain('ms_aimclr', source, '')
            base = osp.join(self.work, f'transfer_{source}_pku2_xsub')
            if not self.args.dry_run:
                os.makedirs(base, exist_ok=True)
            for protocol in TRANSFER_PROTOCOLS:
                cfg = osp.join(CFG, 'linear', f'transfer_ms_aimclr_{source}_'
                               f'pku2_xsub_{protocol}.py')
                dumps[source, protocol] = self.evaluate(cfg, pre_ckpt, store, base,
                                                        protocol)
        return dumps

    def run(self) -> dict:
        """Every command; the dumps as ``dumps[model][bench][stream][probe]``."""
        dumps = {}
        for model in self.args.models:
            for bench in self.args.benchmarks:
                per_stream = {stream: self.stream(model, bench, suffix)
                              for stream, _, suffix in STREAMS}
                dumps.setdefault(model, {})[bench] = per_stream
                for probe, _ in MODELS[model][1]:
                    paths = ' '.join(per_stream[s][probe] for s in FUSION_ORDER)
                    print(f'[reproduce] {model} {bench} 3s {probe}: python '
                          f'tools/ensemble.py {paths}', flush=True)
        return dumps


def our_rows(tables: dict, dumps: dict) -> list:
    """Per published row, ours per benchmark: top-1 (%) from the dumps
    present; None where a dump is missing or the row was not run; the
    string 'peer' for other methods."""
    from msclr_plugin.evaluation.fusion import fuse_dumps
    rows = []
    for row in tables['rows']:
        ours = {}
        spec = OURS.get((row['method'], row['streams']))
        for bench in tables['benchmarks']:
            if row.get('peer') or spec is None:
                ours[bench] = 'peer'
                continue
            model, probe, streams = spec
            found = dumps.get(model, {}).get(bench)
            paths = [found[s][probe] for s in streams] if found else []
            ours[bench] = (100 * fuse_dumps(paths)['report']['top1']
                           if paths and all(osp.isfile(p) for p in paths)
                           else None)
        rows.append(dict(row, ours=ours))
    return rows


def transfer_rows(dumps: dict) -> dict:
    """``'<source> -> pku2_xsub <protocol>'``: top-1 (%) of each transfer
    dump present, else None."""
    from msclr_plugin.evaluation.fusion import fuse_dumps
    return {f'{source} -> pku2_xsub {protocol}':
            100 * fuse_dumps([dump])['report']['top1'] if osp.isfile(dump) else None
            for (source, protocol), dump in dumps.items()}


def format_transfer(rows: dict) -> str:
    """Markdown: transfer learning (the paper reports none)."""
    lines = ['| transfer (MS-AimCLR joint) | ours top-1 |', '|---|---|']
    lines += [f'| {name} | {"" if v is None else f"{v:.1f}"} |'
              for name, v in rows.items()]
    return '\n'.join(lines)


def pretrain_hours(report_path: str, args) -> dict:
    """Estimated GPU hours of each pretraining from a gpu_check report: the
    measured mean step time of the NTU-60 pretraining config (batch 128,
    its GPU) x steps per epoch (training clips x conventions / 128) x
    epochs. Probes, tests and evaluation are left out."""
    with open(report_path) as f:
        report = json.load(f)
    slices = [s for s in report.get('epoch', {}).get('slices', [])
              if s.get('config') == MEASURED_CONFIG and 'iter_s_mean' in s]
    if not slices:
        sys.exit(f'{report_path}: no measured epoch slice of {MEASURED_CONFIG} '
                 '(run tools/gpu_check.py without --skip epoch)')
    step_s, batch = slices[0]['iter_s_mean'], slices[0]['batch']
    hours = {}
    for model in MODELS:
        for bench in BENCHMARKS:
            cfg = load_config(osp.join(CFG, f'{model}_{bench}.py'))
            convs = len(cfg.train_dataloader.dataset.conventions)
            epochs = max_epochs(osp.join(CFG, f'{model}_{bench}.py'),
                                args.pretrain_epochs)
            steps = TRAIN_CLIPS[bench] * convs // batch
            hours[model, bench] = step_s * steps * epochs / 3600
    gpu = report.get('env', {}).get('gpu') or slices[0].get('device')
    return dict(hours=hours, gpu=gpu, step_s=step_s, batch=batch)


def row_hours(rows: list, estimate: dict) -> list:
    """Per row and benchmark, the GPU hours of the pretrainings it needs
    (one per stream); None for peers."""
    out = []
    for row in rows:
        spec = OURS.get((row['method'], row['streams']))
        out.append({bench: None if spec is None or row.get('peer') else
                    len(spec[2]) * estimate['hours'][spec[0], bench]
                    for bench in row['top1']})
    return out


def format_table(rows: list, benchmarks, hours=None) -> str:
    """Markdown: ours beside the published number of every cell (and the
    estimated pretraining GPU hours with a gpu_check report)."""
    def cell(value):
        if value == 'peer':
            return 'n/a'
        return '' if value is None else f'{value:.1f}'

    head = '| tables | method | streams |' + ''.join(
        f' {b} ours | {b} paper |' for b in benchmarks)
    if hours:
        head += ''.join(f' {b} GPU-h |' for b in benchmarks)
    width = head.count('|') - 1
    lines = [head, '|' + '---|' * width]
    for i, row in enumerate(rows):
        line = f'| {row["tables"]} | {row["method"]} | {row["streams"]} |' + \
            ''.join(f' {cell(row["ours"][b])} | {cell(row["top1"][b])} |'
                    for b in benchmarks)
        if hours:
            line += ''.join(f' {cell(hours[i][b])} |' for b in benchmarks)
        lines.append(line)
    return '\n'.join(lines)


def main(argv=None):
    args = parse_args(argv)
    tables = load_paper_tables()
    estimate = pretrain_hours(args.gpu_report, args) if args.gpu_report else None
    repro = Reproduction(args, tables)
    dumps = repro.run()
    rows = our_rows(tables, dumps)
    hours = row_hours(rows, estimate) if estimate else None
    text = format_table(rows, tables['benchmarks'], hours)
    print(text)
    notes = [
        f"paper: {tables['source']} (msclr_plugin/evaluation/paper_tables.json); "
        'n/a: another method. 3s fuses raw scores 0.6/0.6/0.4 (joint/bone/motion).',
        f'ensemble rule: {repro.rule} ' + (
            "(the authors' code, which produced the published numbers)"
            if repro.rule == tables['ensemble_rule'] else
            f"(NOT the rule behind the published numbers, {tables['ensemble_rule']}:"
            f" {tables['ensemble_rule_note']})")]
    if estimate:
        notes.append(
            f'GPU-h: estimated pretraining hours of the row (one per stream it '
            f"fuses; probes and tests left out) on {estimate['gpu']}, from "
            f"{args.gpu_report}: {estimate['step_s']:.3f} s a step at batch "
            f"{estimate['batch']} ({MEASURED_CONFIG}); a 3s row shares its "
            'pretrainings with the single-stream rows')
    transfer = {}
    if args.transfer:
        transfer = transfer_rows(repro.transfer())
        notes.append(format_transfer(transfer))
    print('\n'.join(notes))
    if not args.dry_run:
        with open(osp.join(repro.work, 'table.json'), 'w') as f:
            json.dump(dict(rows=rows, ensemble_rule=repro.rule, gpu_hours=hours,
                           transfer=transfer, commands=repro.jobs.records),
                      f, indent=1)
        with open(osp.join(repro.work, 'table.md'), 'w') as f:
            f.write(text + '\n\n' + '\n'.join(notes) + '\n')
    return rows


if __name__ == '__main__':
    main()
