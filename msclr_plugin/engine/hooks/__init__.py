from .epoch_length_hook import EpochLengthHook  # noqa: F401
from .knn_hook import KNNMonitorHook  # noqa: F401
from .rng_state_hook import RNGStateHook  # noqa: F401
from .label_range_hook import LabelRangeHook  # noqa: F401
from .weight_schedule_hook import LinearWeightScheduleHook  # noqa: F401
