import importlib.util
import logging
import os
from pathlib import Path

import pytest
import torch

import msclr_plugin  # noqa: F401  (stack fixes + registration)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / 'shared'
SHARED_DATA = SHARED / 'data'


def load_tool(path: str):
    """A script of tools/ as a module, e.g. ``load_tool('data/pku_mmd_to_store')``."""
    spec = importlib.util.spec_from_file_location(
        Path(path).name, ROOT / 'tools' / f'{path}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def repo_env(**extra) -> dict:
    """The environment of a subprocess with the repository root first on
    ``PYTHONPATH``: configs may import ``tests.*`` hooks, and a worktree's
    ``msclr_plugin`` wins over an editable install of another checkout."""
    path = os.pathsep.join(
        [str(ROOT)] + [p for p in [os.environ.get('PYTHONPATH')] if p])
    return dict(os.environ, PYTHONPATH=path, **extra)


def pytest_configure(config):
    from mmengine.logging import MMLogger
    MMLogger.get_current_instance().setLevel(logging.WARNING)
    torch.set_num_threads(2)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` skip, saying why, where no GPU is usable."""
    if torch.cuda.is_available():
        return
    reason = (f'no CUDA device (torch {torch.__version__}, '
              + (f'built for CUDA {torch.version.cuda}'
                 if torch.version.cuda else 'a CPU-only build')
              + '): run python tools/gpu_check.py on a GPU machine')
    for item in items:
        if 'cuda' in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(autouse=True)
def _mmaction_scope():
    """Every test builds in mmaction's scope, whatever a Runner built by an
    earlier test left as the current default scope."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


@pytest.fixture
def shared_data():
    if not SHARED_DATA.is_dir():
        pytest.skip(f'real data folder {SHARED_DATA} is absent')
    return SHARED_DATA
