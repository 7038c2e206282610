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
import os.path as osp

import torch
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


def work_dir_of(cfg: Config, config_path: str, work_dir=None) -> str:
    """``--work-dir`` > the config's ``work_dir`` > ``./work_dirs/<name>``."""
    if work_dir is not None:
        return work_dir
    if cfg.get('work_dir', None) is not None:
        return cfg.work_dir
    return osp.join('./work_dirs', osp.splitext(osp.basename(config_path))[0])
