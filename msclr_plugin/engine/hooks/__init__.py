from .knn_hook import KNNMonitorHook  # noqa: F401
