"""Checkpoint files that are complete or absent, and resuming from them."""
import glob
import logging
import os
import os.path as osp
import tempfile
import zipfile
from typing import Optional, Union

from mmengine.fileio import LocalBackend
from mmengine.logging import print_log


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend, writing every file atomically.

    ``put`` / ``put_text`` (how mmengine writes checkpoints and the
    ``last_checkpoint`` pointer) write a temporary file in the target's
    directory, flush it to disk, then rename it over the target: a kill or a
    full disk during a save leaves the previous file (or none), never a
    truncated one. A failed write removes the temporary file and raises an
    ``OSError`` that names the target. Registered for local paths by
    :func:`msclr_plugin.compat.apply`.
    """

    def put(self, obj: bytes, filepath: Union[str, os.PathLike]) -> None:
        """Write ``obj`` to ``filepath`` atomically (see the class)."""
        filepath = str(filepath)
        directory = osp.dirname(osp.abspath(filepath))
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(
            prefix=f'.{osp.basename(filepath)}.', suffix='.tmp', dir=directory)
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(obj)
                f.flush()
                os.fsync(f.fileno())
            # mkstemp makes the file private; give it the usual permissions
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, filepath)
        except OSError as err:
            if osp.exists(tmp):
                os.remove(tmp)
            raise OSError(
                err.errno, f'could not write {filepath} ({err.strerror or err}); '
                'nothing was written there, a previous file of that name is '
                'unchanged') from err

    def put_text(self,
                 obj: str,
                 filepath: Union[str, os.PathLike],
                 encoding: str = 'utf-8') -> None:
        """Write text atomically (see :meth:`put`)."""
        self.put(obj.encode(encoding), filepath)


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a whole ``torch.save`` file (a zip archive whose
    central directory, written last, is present and readable)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith('data.pkl') for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def last_complete_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` continues from.

    mmengine's choice (the file named in ``work_dir/last_checkpoint``) when
    it is complete, else the newest complete ``epoch_N.pth`` / ``iter_N.pth``
    of ``work_dir`` (a truncated file from an interrupted save elsewhere, or
    a pointer to a removed one, is skipped with a warning).

    Args:
        work_dir (str): The run's work directory.

    Returns:
        str | None: A checkpoint path, or None when there is none.
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    candidates = []
    if osp.isfile(pointer):
        with open(pointer) as f:
            candidates.append(f.read().strip())

    files = glob.glob(osp.join(work_dir, 'epoch_*.pth')) + glob.glob(
        osp.join(work_dir, 'iter_*.pth'))
    candidates += sorted(files, key=osp.getmtime, reverse=True)
    for path in dict.fromkeys(candidates):
        if is_complete_checkpoint(path):
            return path
        print_log(f'--resume: {path} is missing or incomplete, skipped',
                  logger='current', level=logging.WARNING)
    return None
