from .knn_hook import KNNMonitorHook  # noqa: F401
from .rng_state_hook import RNGStateHook  # noqa: F401
