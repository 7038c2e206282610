"""Build mmengine's Runner for the machine it runs on (tools/train.py and
tools/test.py).

mmengine 0.10.7 assumes a GPU under every launcher: ``init_dist`` calls
``torch.cuda.set_device`` (a CPU-only torch has no such binding) and
``Runner.wrap_model`` passes ``device_ids=[LOCAL_RANK]`` to DDP, which a
CPU module refuses. Here a launched run (torchrun, slurm, mpi) on a machine
without CUDA gets gloo, no device binding and DDP without device ids; with
CUDA nothing changes (nccl, one device per local rank).
"""
import contextlib
import gc
import os.path as osp
import sys
import traceback

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.runner import Runner

from mmaction.registry import RUNNERS

WRAPPER = 'mmaction.MSDistributedDataParallel'


def configure_distributed(cfg: Config) -> None:
    """Fit a launched run's config to the devices at hand.

    - no CUDA: the nccl backend (``env_cfg.dist_cfg``) becomes gloo;
    - without a ``model_wrapper_cfg`` the model is wrapped in
      :class:`MSDistributedDataParallel` (mmengine's DDP wrapper, plus
      device ids that follow the model's device and this plugin's SyncBN):
      ``sync_bn`` and ``find_unused_parameters`` of the config move into it.

    Args:
        cfg (Config): The run's config (``launcher`` other than 'none');
            modified in place.
    """
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    if not torch.cuda.is_available() and dist_cfg.get('backend',
                                                      'nccl') == 'nccl':
        print_log('no CUDA device: distributed backend gloo instead of nccl',
                  logger='current')
        dist_cfg['backend'] = 'gloo'
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type=WRAPPER,
            broadcast_buffers=False,
            find_unused_parameters=cfg.pop('find_unused_parameters', False),
            sync_bn=cfg.pop('sync_bn', None) is not None)


@contextlib.contextmanager
def _no_cuda_device_binding():
    """``torch.cuda.set_device`` as a no-op where there is no CUDA."""
    if torch.cuda.is_available():
        yield
        return
    set_device = torch.cuda.set_device
    torch.cuda.set_device = lambda device: None
    try:
        yield
    finally:
        torch.cuda.set_device = set_device


def set_threads(cfg: Config) -> None:
    """Apply the config's ``env_cfg.num_threads`` (torch's intra-op threads),
    if it sets one.

    The digits of a CPU run depend on it: the same step with 1 and 2
    threads gives gradients that differ in the last bit (another reduction
    order), and a few hundred SGD steps carry that as far as another seed
    would. The CPU-sized configs pin 1 (what ``tools/demo.py`` runs its
    tasks with), so that a plain ``tools/train.py`` run repeats the main
    job's digits.
    """
    threads = (cfg.get('env_cfg') or {}).get('num_threads')
    if threads:
        torch.set_num_threads(int(threads))


def build_runner(cfg: Config) -> Runner:
    """The config's Runner, distributed when ``cfg.launcher`` says so.

    Args:
        cfg (Config): A full run config.

    Returns:
        Runner: Built (and, under a launcher, with the process group up).
    """
    set_threads(cfg)
    if cfg.get('launcher', 'none') != 'none':
        configure_distributed(cfg)
    with _no_cuda_device_binding():
        return (Runner.from_cfg(cfg)
                if 'runner_type' not in cfg else RUNNERS.build(cfg))


@contextlib.contextmanager
def process_group_session():
    """Leave the process group before the interpreter exits, and say which
    rank failed.

    A gloo collective's worker thread may still hold the last reference to
    the collective's tensors after the call returned; dropping a tensor that
    has a Python object takes the GIL. If the interpreter is finalising by
    then (the script ended), that thread is killed by the GIL and the
    process aborts: "terminate called without an active exception", exit
    134, after a run that succeeded, now and then (a race with the last
    collectives: rarer or more frequent with load). Destroying the process
    group joins its worker threads while the interpreter is whole, but only
    when nothing else holds the group: the runner's reference cycles keep
    the DDP model, whose reducer holds it, so they are collected first. On
    an exception the rank's traceback is printed with its rank and the
    frames' locals (the runner among them) are released before the group
    is left; a peer blocked in a collective then fails with its own error.
    """
    try:
        yield
    except BaseException as err:
        if dist.is_available() and dist.is_initialized() and \
                not isinstance(err, SystemExit):
            print(f'rank {dist.get_rank()} of {dist.get_world_size()} '
                  f'failed:\n{traceback.format_exc()}',
                  file=sys.stderr, flush=True)
        traceback.clear_frames(err.__traceback__)
        raise
    finally:
        if dist.is_available() and dist.is_initialized():
            gc.collect()
            dist.destroy_process_group()


def work_dir_of(cfg: Config, config_path: str, work_dir=None) -> str:
    """``--work-dir`` > the config's ``work_dir`` > ``./work_dirs/<name>``."""
    if work_dir is not None:
        return work_dir
    if cfg.get('work_dir', None) is not None:
        return cfg.work_dir
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
