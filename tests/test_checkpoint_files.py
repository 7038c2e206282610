"""Checkpoints are written atomically; --resume takes the last complete one."""
import os
import resource
import signal

import pytest
import torch
from mmengine.fileio import get_file_backend
from mmengine.runner.checkpoint import save_checkpoint

import msclr_plugin  # noqa: F401  (registers the atomic backend)
from msclr_plugin.utils.checkpoint_files import (AtomicLocalBackend,
                                                 is_complete_checkpoint,
                                                 last_complete_checkpoint)
from .conftest import load_tool
from .test_tools_train import CONFIG


def checkpoint(value, size=1000):
    return dict(state_dict={'w': torch.full((size, ), float(value))}, meta={})


def test_mmengine_saves_through_the_atomic_backend(tmp_path):
    assert isinstance(get_file_backend(str(tmp_path / 'x.pth')), AtomicLocalBackend)
    path = tmp_path / 'epoch_1.pth'
    save_checkpoint(checkpoint(1), str(path))
    assert torch.load(path, weights_only=True)['state_dict']['w'][0] == 1
    save_checkpoint(checkpoint(2), str(path))  # replaced whole
    assert torch.load(path, weights_only=True)['state_dict']['w'][0] == 2
    assert sorted(os.listdir(tmp_path)) == ['epoch_1.pth']
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_a_full_disk_during_a_save_leaves_no_truncated_file(tmp_path):
    """A file-size limit makes the write fail part way, as a full disk does:
    a clear error naming the path, the previous checkpoint intact, no
    temporary file left behind."""
    path = tmp_path / 'epoch_2.pth'
    save_checkpoint(checkpoint(1), str(path))
    before = path.read_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (len(before) // 2, hard))
    try:
        with pytest.raises(OSError, match=f'could not write {path}'):
            save_checkpoint(checkpoint(2), str(path))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ['epoch_2.pth']


def test_resume_takes_the_last_complete_checkpoint(tmp_path):
    """A truncated newest file (e.g. from a save interrupted before this
    plugin wrote atomically) and a pointer to it are skipped."""
    train = load_tool('train')
    config = tmp_path / 'cfg.py'
    config.write_text(CONFIG)
    work = tmp_path / 'work'
    work.mkdir()
    assert last_complete_checkpoint(str(work)) is None
    for epoch in (1, 2, 3):
        torch.save(checkpoint(epoch), work / f'epoch_{epoch}.pth')
    whole = (work / 'epoch_3.pth').read_bytes()
    (work / 'epoch_3.pth').write_bytes(whole[:len(whole) // 2])
    (work / 'last_checkpoint').write_text(str(work / 'epoch_3.pth'))
    os.utime(work / 'epoch_1.pth', (0, 0))  # the oldest
    assert not is_complete_checkpoint(str(work / 'epoch_3.pth'))
    assert is_complete_checkpoint(str(work / 'epoch_2.pth'))
    args = train.parse_args([str(config), '--work-dir', str(work), '--resume'])
    cfg = train.merge_args(train.Config.fromfile(str(config)), args)
    assert cfg.resume is True and cfg.load_from == str(work / 'epoch_2.pth')
