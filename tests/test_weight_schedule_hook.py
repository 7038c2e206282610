"""LinearWeightScheduleHook: a model weight moved linearly over training
(the annealed second key of issue 21)."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.model import MMDistributedDataParallel

from msclr_plugin.engine.hooks import LinearWeightScheduleHook


class _Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.extra_key_weight = 1.0
        self.extra_key_view = 'key_same'


def _runner(model, max_iters=8):
    return SimpleNamespace(model=model, iter=0, max_iters=max_iters)


def test_weight_moves_linearly_and_resumes_on_the_same_line():
    model = _Model()
    runner = _runner(model)
    hook = LinearWeightScheduleHook('extra_key_weight', end=0.)
    hook.before_train(runner)
    seen = []
    for i in range(8):
        runner.iter = i
        hook.before_train_iter(runner, i)
        seen.append(model.extra_key_weight)
    assert seen == pytest.approx([1 - i / 8 for i in range(8)])
    # a resumed run: a fresh model (the config's value) and hook, at iteration 5
    model, hook = _Model(), LinearWeightScheduleHook('extra_key_weight', end=0.)
    runner = _runner(model)
    hook.before_train(runner)
    runner.iter = 5
    hook.before_train_iter(runner, 5)
    assert model.extra_key_weight == pytest.approx(seen[5])


def test_wrapped_model_and_bad_attribute():
    model = _Model()
    wrapper = object.__new__(MMDistributedDataParallel)  # no process group needed
    torch.nn.Module.__init__(wrapper)
    wrapper.module = model
    runner = _runner(wrapper, max_iters=4)
    hook = LinearWeightScheduleHook('extra_key_weight', end=2.)
    hook.before_train(runner)
    runner.iter = 2
    hook.before_train_iter(runner, 2)
    assert model.extra_key_weight == pytest.approx(1.5)
    for attr in ('extra_key_view', 'no_such_weight'):
        with pytest.raises(ValueError, match=f'_Model.{attr} is .*not a number'):
            LinearWeightScheduleHook(attr, end=0.).before_train(_runner(model))
