"""msclr_plugin: Multi-Skeleton Contrastive Learning for MMAction2 1.x.

Importing the package (``custom_imports = dict(imports=['msclr_plugin'])``)
applies the stack fixes of :mod:`msclr_plugin.compat` and registers every
component into mmaction's registries (default scope ``mmaction``).
"""
from . import compat

compat.apply()

from . import datasets, engine, evaluation, models  # noqa: E402,F401
from .version import __version__  # noqa: E402

__all__ = ['__version__']
