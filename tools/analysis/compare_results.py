"""Rows of several ``tools/compare_methods.py`` runs compared, and per-fold means.

Each ``TAG=RESULTS_JSON`` names a run's ``results.json`` (of
``tools/compare_methods.py`` or ``tools/demo.py``: its rows become
``TAG.row``; of ``tools/real_results.py``: ``TAG.<dataset>.row``). ``--compare ROW CONTROL`` prints the verdict lines of the
results tables (msclr_plugin.utils.jobs.beats_control: the means' difference
against twice the larger seed std, and the paired differences over the seeds
both rows have). ``--per-fold`` prints, for a run with folds (``--fold``,
``--preset bandai_styles``), every row's mean over the seeds of each fold's
numbers. ``--seeds`` keeps only those seeds.

Examples:
    python tools/analysis/compare_results.py long=work_dirs/BS320/results.json \\
        short=work_dirs/BS/results.json --compare long.ms_aimclr short.ms_aimclr
    python tools/analysis/compare_results.py bs=work_dirs/BS/results.json --per-fold
    python tools/analysis/compare_results.py a=work_dirs/real9/results.json \
        b=work_dirs/real10/results.json --compare b.msr3d.ms_aimclr a.msr3d.ms_aimclr
"""
import argparse
import json

import numpy as np

from msclr_plugin.utils.jobs import COLUMNS as TABLE_COLUMNS, beats_control, metric_of

COLUMNS = ('linear', 'knn', 'retrieval', 'retrieval_unrepeated')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('runs', nargs='+', metavar='TAG=RESULTS_JSON')
    parser.add_argument('--compare', nargs=2, action='append', default=[],
                        metavar=('ROW', 'CONTROL'), help='e.g. a.ms_aimclr b.ms_aimclr')
    parser.add_argument('--columns', nargs='+', default=list(COLUMNS),
                        choices=[name for name, _, _ in TABLE_COLUMNS])
    parser.add_argument('--seeds', nargs='+', type=int, help='only these seeds')
    parser.add_argument('--per-fold', action='store_true',
                        help="each row's mean over the seeds of every fold")
    return parser.parse_args(argv)


def table_rows(results):
    """``{row: {seed: result}}`` of a results.json's ``results``: as they
    are, or ``{dataset.row: ...}`` of tools/real_results.py's ``{dataset:
    {row: {seed: result}}}``."""
    per_seed = next(iter(results.values()))
    if 'num_test' in next(iter(per_seed.values())):
        return results
    return {f'{ds}.{row}': seeds for ds, rows in results.items()
            for row, seeds in rows.items()}


def load_runs(specs, seeds=None):
    """``{tag: results.json}`` and the rows of all runs as ``{TAG.row: {seed:
    result}}`` (seeds as written: strings)."""
    runs, rows = {}, {}
    for spec in specs:
        tag, sep, path = spec.partition('=')
        if not sep or not tag or not path:
            raise SystemExit(f'error: {spec!r}: expected TAG=RESULTS_JSON')
        try:
            with open(path) as f:
                runs[tag] = json.load(f)
        except (OSError, ValueError) as error:
            raise SystemExit(f'error: {path}: {error}')
        for row, per_seed in table_rows(runs[tag]['results']).items():
            rows[f'{tag}.{row}'] = {s: r for s, r in per_seed.items()
                                    if seeds is None or int(s) in seeds}
    return runs, rows


def per_fold_lines(tag, run, columns, seeds=None):
    """One line per row of a run with folds: each fold's mean over the seeds
    of every column (folds named by their test split, as in the run)."""
    folds = list(run['schedules'])
    lines = []
    for row, per_seed in run['results'].items():
        results = [r for s, r in per_seed.items() if seeds is None or int(s) in seeds]
        if not results or 'folds' not in results[0]:
            raise SystemExit(f'error: run {tag}: row {row} has no folds')
        cells = []
        for i, fold in enumerate(folds):
            values = []
            for column in columns:
                got = [metric_of(r['folds'][i], column) for r in results]
                got = [v for v in got if v is not None]
                values.append(f'{np.mean(got):.1f}' if got else '-')
            cells.append(f'{fold} {" / ".join(values)}')
        lines.append(f'{tag}.{row} ({" / ".join(columns)}, mean of {len(results)} seeds): '
                     + ', '.join(cells))
    return lines


def main(argv=None):
    args = parse_args(argv)
    runs, rows = load_runs(args.runs, args.seeds)
    lines = []
    for row, control in args.compare:
        for name in (row, control):
            if name not in rows:
                raise SystemExit(f'error: no row {name}; rows: {", ".join(rows)}')
        lines += beats_control(rows, control, args.columns, methods=[row])
    if args.per_fold:
        for tag, run in runs.items():
            lines += per_fold_lines(tag, run, args.columns, args.seeds)
    print('\n'.join(lines))
    return lines


if __name__ == '__main__':
    main()
