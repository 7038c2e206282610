"""Move a weight of the model linearly over training (a curriculum)."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmaction.registry import HOOKS


@HOOKS.register_module()
class LinearWeightScheduleHook(Hook):
    """Move a float attribute of the model linearly from its configured value
    to ``end`` over the training iterations.

    E.g. ``MSMoCo.extra_key_weight``: the second key in the query's own
    convention carries the first steps, where a cross-convention positive
    alone starts slowly (issue 21's probe trajectory), and the
    cross-convention key is left alone at the end. Before training
    iteration ``i`` of ``max_iters`` the attribute is ``start + (end -
    start) * i / max_iters``, ``start`` being its value when training
    begins (the config's): a resumed run continues the same line.

    Args:
        attr (str): Attribute of the (unwrapped) model, e.g.
            ``'extra_key_weight'``.
        end (float): Its value at the end of training.
    """

    priority = 'NORMAL'

    def __init__(self, attr: str, end: float) -> None:
        self.attr = attr
        self.end = float(end)
        self.start = None

    def _model(self, runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def before_train(self, runner) -> None:
        value = getattr(self._model(runner), self.attr, None)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f'LinearWeightScheduleHook: {type(self._model(runner)).__name__}'
                             f'.{self.attr} is {value!r}, not a number to schedule')
        self.start = float(value)

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        fraction = runner.iter / max(runner.max_iters, 1)
        setattr(self._model(runner), self.attr,
                self.start + (self.end - self.start) * fraction)
