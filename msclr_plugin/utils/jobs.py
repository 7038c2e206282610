"""Pretrain-then-evaluate jobs run through the project's own tools.

Shared by tools/demo.py (the main job) and tools/real_results.py: each step
is a subprocess (``tools/train.py``, ``tools/test.py``, ``tools/knn_eval.py``)
as a user would type it; every command, its log and wall time are recorded,
and a step whose final checkpoint already exists is not run again.
"""
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional, Sequence

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


class JobRunner:
    """Run commands from the repository root, each into its own log.

    Args:
        tag (str): Prefix of the progress lines.
        dry_run (bool): Print and record every command, run none.
    """

    def __init__(self, tag: str, dry_run: bool = False) -> None:
        self.tag = tag
        self.dry_run = dry_run
        self.records: List[dict] = []

    def run(self, cmd: Sequence[str], log: str) -> None:
        """Run ``cmd``; exit with the log's tail if it fails."""
        cmd = [str(c) for c in cmd]
        print(f'[{self.tag}] $ {" ".join(cmd)}', flush=True)
        if self.dry_run:
            self.records.append(dict(cmd=' '.join(cmd), log=log, seconds=None))
            return
        start = time.time()
        with open(log, 'w') as f:
            proc = subprocess.run(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT)
        seconds = time.time() - start
        self.records.append(dict(cmd=' '.join(cmd), log=log, seconds=round(seconds, 1)))
        if proc.returncode:
            with open(log) as f:
                tail = f.read()[-3000:]
            sys.exit(f'[{self.tag}] failed ({proc.returncode}), see {log}:\n{tail}')
        print(f'[{self.tag}]   done in {seconds:.0f} s (log: {log})', flush=True)


def finished(work_dir: str, epochs: int) -> bool:
    """Whether an earlier run already trained ``epochs`` in ``work_dir``."""
    return osp.isfile(osp.join(work_dir, f'epoch_{epochs}.pth'))


def last_checkpoint(work_dir: str) -> str:
    ckpts = glob.glob(osp.join(work_dir, 'epoch_*.pth'))
    if not ckpts:
        sys.exit(f'no checkpoint in {work_dir}')
    return max(ckpts, key=lambda p: int(p.rsplit('_', 1)[1][:-4]))


def top1_of_dump(path: str) -> dict:
    from msclr_plugin.evaluation.accuracy import accuracy_report
    from msclr_plugin.evaluation.fusion import load_dump
    scores, labels, _ = load_dump(path, scores='prob')
    return accuracy_report(scores, labels, topk=(1, 5))


def save_initial_checkpoint(config: str, path: str, seed: Optional[int]) -> None:
    """The model of ``config`` as initialised (``init_weights``, seeded as
    ``tools/train.py --seed`` would), saved as ``path``: the no-pretraining
    control of the evaluations."""
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import set_random_seed

    from mmaction.registry import MODELS
    cfg = Config.fromfile(config)
    set_random_seed(0 if seed is None else seed)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'mmaction')):
        model = MODELS.build(cfg.model)
    model.init_weights()
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save(dict(state_dict=model.state_dict(), meta=dict(config=config, seed=seed)), path)


def pretrain_and_evaluate(jobs: JobRunner,
                          work: str,
                          name: str,
                          pretrain_cfg: str,
                          linear_cfg: str,
                          tests: Dict[str, str],
                          knn_cfg: str,
                          epochs: int,
                          linear_epochs: int,
                          seed: Optional[int] = None,
                          pretrain_opts: Sequence[str] = (),
                          linear_opts: Sequence[str] = (),
                          eval_opts: Sequence[str] = ()) -> dict:
    """Pretrain, train a linear probe, test it and run kNN.

    Args:
        jobs (JobRunner): Runs and records the commands.
        work (str): Work directory; sub-directories are named ``name_*``.
        name (str): Name of the method.
        pretrain_cfg (str): Pretraining config (``epochs`` epochs).
        linear_cfg (str): Linear-probe config (``linear_epochs`` epochs).
        tests (dict): ``{test name: config}`` run with ``tools/test.py`` on
            the probe's checkpoint; each gives top-1/top-5 of its dump.
        knn_cfg (str): Config whose train/val dataloaders are kNN's bank and
            queries.
        epochs (int): Pretraining epochs (to find or skip the run); 0
            evaluates the encoder as initialised.
        linear_epochs (int): Probe epochs.
        seed (int, optional): ``--seed`` of both trainings.
        pretrain_opts, linear_opts (Sequence[str]): Extra ``--cfg-options``
            of the pretraining and of the probe.
        eval_opts (Sequence[str]): ``--cfg-options`` of the probe, the tests
            and kNN (e.g. the data location).

    Returns:
        dict: ``{test name: accuracy report, 'knn': {...}}``.
    """
    os.makedirs(work, exist_ok=True)
    py = sys.executable
    seed_args = [] if seed is None else ['--seed', str(seed)]
    pre_dir = osp.join(work, f'{name}_pretrain')
    if epochs == 0:
        if not finished(pre_dir, 0):
            save_initial_checkpoint(pretrain_cfg, osp.join(pre_dir, 'epoch_0.pth'), seed)
    elif not finished(pre_dir, epochs):
        jobs.run([py, 'tools/train.py', pretrain_cfg, '--work-dir', pre_dir, *seed_args,
                  '--cfg-options', f'train_cfg.max_epochs={epochs}', *pretrain_opts],
                 osp.join(work, f'{name}_pretrain.log'))
    pre_ckpt = last_checkpoint(pre_dir)
    lin_dir = osp.join(work, f'{name}_linear')
    if not finished(lin_dir, linear_epochs):
        jobs.run([py, 'tools/train.py', linear_cfg, '--work-dir', lin_dir, *seed_args,
                  '--cfg-options', *eval_opts,
                  f'model.backbone.init_cfg.checkpoint={pre_ckpt}',
                  f'train_cfg.max_epochs={linear_epochs}', *linear_opts],
                 osp.join(work, f'{name}_linear.log'))
    lin_ckpt = last_checkpoint(lin_dir)
    row = {}
    for test, cfg in tests.items():
        dump = osp.join(work, f'{name}_{test}_scores.pkl')
        jobs.run([py, 'tools/test.py', cfg, lin_ckpt, '--work-dir',
                  osp.join(work, f'{name}_{test}_test'), '--dump', dump,
                  *(['--cfg-options', *eval_opts] if eval_opts else [])],
                 osp.join(work, f'{name}_{test}_test.log'))
        row[test] = top1_of_dump(dump)
    knn_out = osp.join(work, f'{name}_knn.json')
    jobs.run([py, 'tools/knn_eval.py', knn_cfg, pre_ckpt, '--out', knn_out,
              *(['--cfg-options', *eval_opts] if eval_opts else [])],
             osp.join(work, f'{name}_knn.log'))
    with open(knn_out) as f:
        row['knn'] = json.load(f)
    return row
