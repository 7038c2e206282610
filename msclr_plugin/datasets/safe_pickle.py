"""Reading annotation pickles (mmaction2 / pyskl) without running their code.

A pickle names the functions that rebuild its objects, and ``pickle.load``
calls them: a crafted file runs any code. :func:`load_pickle` resolves only
numpy arrays, dtypes and scalars and Python's built-in containers and
scalars, which is all an annotation file holds; anything else is refused
before it is called.
"""
import pickle
from typing import Any

_BUILTINS = ('dict', 'list', 'tuple', 'set', 'frozenset', 'int', 'float',
             'complex', 'str', 'bytes', 'bytearray', 'bool', 'slice', 'range')
ALLOWED_GLOBALS = frozenset(
    # '__builtin__': the Python 2 name, used by protocols 0-2
    [(mod, n) for mod in ('builtins', '__builtin__') for n in _BUILTINS] +
    [('collections', n) for n in ('OrderedDict', 'defaultdict', 'deque')] +
    # protocols 0-2 store bytes as latin-1 text re-encoded by this function
    [('_codecs', 'encode'), ('numpy', 'ndarray'), ('numpy', 'dtype')] +
    # numpy 1.x and 2.x module names of the array/scalar constructors
    [(f'{core}.{mod}', name) for core in ('numpy.core', 'numpy._core')
     for mod, name in (('multiarray', '_reconstruct'), ('multiarray', 'scalar'),
                       ('numeric', '_frombuffer'))])


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle refers to a global outside :data:`ALLOWED_GLOBALS`."""


class _RestrictedUnpickler(pickle.Unpickler):

    def __init__(self, file, path: str) -> None:
        super().__init__(file)
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS or (
                module == 'numpy.dtypes' and name.endswith('DType')):
            return super().find_class(module, name)
        raise UnsafePickleError(
            f'{self._path}: refused to load global {module}.{name} (an '
            'annotation pickle holds only numpy arrays and built-in '
            'containers; this file would run other code when loaded)')


def load_pickle(path: str) -> Any:
    """Load an annotation pickle, refusing every other global.

    Raises:
        UnsafePickleError: the file refers to another global (named with the
            file); ``pickle.UnpicklingError``, ``EOFError``, ``OSError``: not a
            readable pickle.
    """
    with open(path, 'rb') as f:
        return _RestrictedUnpickler(f, path).load()
