"""The GPU step: steps on CUDA, bf16 autocast, no host synchronisation,
CUDA graphs against eager, checkpoints, a one-process NCCL group.

Tests marked ``cuda`` skip without a GPU (``tools/gpu_check.py`` runs them
on one); the others check on CPU the parts of the fast step that run there.
"""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper

from msclr_plugin.engine import AutocastOptimWrapper
from msclr_plugin.models import MultiSkeletonDataPreprocessor
from .test_pretrain_models import KINECT, SMPLX, V, build, samples, views

PAIRS = [(KINECT, KINECT), (KINECT, SMPLX), (SMPLX, KINECT), (SMPLX, SMPLX)]


def make_wrapper(model, bf16=False):
    optimizer = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad],
        lr=0.1, momentum=0.9, weight_decay=1e-4)
    return (AutocastOptimWrapper if bf16 else OptimWrapper)(
        optimizer=optimizer)


def batch(pair, device='cpu', seed=1):
    """A grouped batch (one convention per view) on ``device``."""
    query, key = pair
    x = views(V[query], V[key], seed=seed)
    return dict(inputs={k: v.to(device) for k, v in x.items()},
                data_samples=samples(query, key))


def mixed_batch(device='cpu'):
    conventions = [KINECT, SMPLX, SMPLX, KINECT]
    x = views(42, 42)
    return dict(inputs={k: v.to(device) for k, v in x.items()},
                data_samples=samples(conventions, conventions[::-1]))


def train(model, wrapper, batches):
    """Per-step losses of ``train_step`` over ``batches``."""
    return [model.train_step(b, wrapper)['loss'].item() for b in batches]


def conv_dtypes(model):
    """Records the output dtype of every 2-d convolution of the encoder."""
    seen = set()
    for module in model.backbone.modules():
        if isinstance(module, torch.nn.Conv2d):
            module.register_forward_hook(
                lambda m, i, o: seen.add(o.dtype))
    return seen


# ------------------------------------------------------------------ CPU
def test_cuda_graph_option_runs_eagerly_on_cpu():
    """``cuda_graph=True`` is the same training off a GPU, mixed batches
    included."""
    runs = []
    for cuda_graph in (False, True):
        model = build(layouts=(KINECT, SMPLX), cuda_graph=cuda_graph)
        model.train()
        wrapper = make_wrapper(model)
        losses = train(model, wrapper, [batch(p) for p in PAIRS] +
                       [mixed_batch()])
        runs.append((losses, copy.deepcopy(model.state_dict())))
    assert runs[0][0] == runs[1][0]
    for name, value in runs[0][1].items():
        assert torch.equal(value, runs[1][1][name]), name


def test_autocast_optim_wrapper_runs_bf16_without_scaling():
    model = build(layouts=(KINECT, SMPLX)).train()
    dtypes = conv_dtypes(model)
    wrapper = make_wrapper(model, bf16=True)
    before = [p.detach().clone() for p in model.parameters()]
    loss = model.train_step(batch(PAIRS[1]), wrapper)['loss']
    assert dtypes == {torch.bfloat16} and torch.isfinite(loss)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert any(not torch.equal(a, b)
               for a, b in zip(before, model.parameters()))
    with pytest.raises(ValueError, match='bfloat16 only'):
        AutocastOptimWrapper(dtype='float16', optimizer=wrapper.optimizer)


@pytest.mark.parametrize('native,warnings', [(False, 1), (True, 0)])
def test_autocast_optim_wrapper_warns_once_without_cpu_bf16(
        native, warnings, monkeypatch, caplog):
    """On a CPU that emulates bfloat16 the wrapper says so, once."""
    import logging

    from mmengine.logging import MMLogger

    from msclr_plugin.engine.optim_wrappers import autocast_optim_wrapper
    monkeypatch.setattr(autocast_optim_wrapper, 'cpu_has_bf16',
                        lambda: native)
    model = build().train()
    wrapper = make_wrapper(model, bf16=True)
    logger = MMLogger.get_current_instance()
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING):
            for _ in range(2):
                model.train_step(batch(PAIRS[0]), wrapper)
    finally:
        logger.removeHandler(caplog.handler)
    assert sum('without native bfloat16' in r.getMessage()
               for r in caplog.records) == warnings


def test_cuda_graph_refuses_loss_scaling():
    """A replayed backward is unscaled: AmpOptimWrapper would unscale
    gradients that were never scaled."""
    from mmengine.optim import AmpOptimWrapper
    model = build(cuda_graph=True).train()
    wrapper = AmpOptimWrapper.__new__(AmpOptimWrapper)  # needs no GPU
    wrapper._accumulative_counts = 1
    with pytest.raises(ValueError, match='AutocastOptimWrapper'):
        model.train_step(batch(PAIRS[0]), wrapper)


# ----------------------------------------------------------------- CUDA
@pytest.mark.cuda
@pytest.mark.parametrize('mode', ['single', 'grouped', 'padded'])
def test_step_on_gpu(mode):
    layouts = (KINECT, ) if mode == 'single' else (KINECT, SMPLX)
    model = build(layouts=layouts).cuda().train()
    wrapper = make_wrapper(model)
    data = (batch(PAIRS[0], 'cuda') if mode == 'single' else
            batch(PAIRS[1], 'cuda') if mode == 'grouped' else
            mixed_batch('cuda'))
    before = [p.detach().clone() for p in model.parameters()]
    losses = train(model, wrapper, [data, data])
    assert all(torch.isfinite(torch.tensor(losses)))
    assert all(p.is_cuda for p in model.parameters())
    assert any(not torch.equal(a, b)
               for a, b in zip(before, model.parameters()))
    assert int(model.queue_ptr) == 2 * len(data['data_samples'])


@pytest.mark.cuda
def test_bf16_autocast_step_on_gpu():
    model = build(layouts=(KINECT, SMPLX)).cuda().train()
    dtypes = conv_dtypes(model)
    wrapper = make_wrapper(model, bf16=True)
    data = batch(PAIRS[3], 'cuda')
    with wrapper.optim_context(model):
        losses = model.loss(data['inputs'], data['data_samples'])
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert dtypes == {torch.bfloat16}
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(g.dtype == torch.float32 and torch.isfinite(g).all()
                         for g in grads)
    wrapper.zero_grad()
    assert torch.isfinite(model.train_step(data, wrapper)['loss'])


@pytest.mark.cuda
@pytest.mark.parametrize('mixed', [False, True])
def test_step_does_not_synchronise(mixed):
    """Forward, backward and the optimizer step queue work without waiting
    for the GPU (``torch.cuda.set_sync_debug_mode('error')`` turns every
    synchronising call into an error)."""
    model = build(layouts=(KINECT, SMPLX)).cuda().train()
    optimizer = make_wrapper(model).optimizer
    data = mixed_batch('cuda') if mixed else batch(PAIRS[2], 'cuda')
    for checked in (False, True):  # the first step allocates lazily
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode('error' if checked else 'default')
        try:
            losses = model.loss(data['inputs'], data['data_samples'])
            sum(v for k, v in losses.items() if k.startswith('loss')).backward()
            optimizer.step()
            optimizer.zero_grad()
        finally:
            torch.cuda.set_sync_debug_mode('default')


@pytest.mark.cuda
def test_preprocessor_stacks_into_pinned_memory():
    pre = MultiSkeletonDataPreprocessor(non_blocking=True).cuda()
    x = views(25, 42)
    data = dict(inputs=[{k: v[i] for k, v in x.items()} for i in range(4)],
                data_samples=samples(KINECT, SMPLX))
    out = pre(data)['inputs']
    torch.cuda.synchronize()
    for view, value in x.items():
        assert out[view].is_cuda and torch.equal(out[view].cpu(), value)


def graph_vs_eager(bf16, steps_per_pair=4, epochs=(0, 150)):
    """Losses and final state of eager and CUDA-graph training on the same
    grouped batches, through AimCLR's mining switch."""
    from mmengine.logging import MessageHub
    hub = MessageHub.get_current_instance()
    runs = []
    for cuda_graph in (False, True):
        model = build(layouts=(KINECT, SMPLX),
                      cuda_graph=cuda_graph).cuda().train()
        wrapper = make_wrapper(model, bf16)
        losses = []
        for epoch in epochs:
            hub.update_info('epoch', epoch)
            losses += train(model, wrapper, [
                batch(p, 'cuda', seed=step)
                for step in range(steps_per_pair) for p in PAIRS
            ])
        hub.update_info('epoch', 0)
        runs.append((losses, model))
    return runs


@pytest.mark.cuda
def test_cuda_graph_step_matches_eager():
    """Replayed steps compute what eager steps do (dropout off in this
    encoder), for every convention pair and both AimCLR phases; the
    parameters of the convention a batch lacks stay untouched as in eager
    steps (their gradient is None, not zero)."""
    deterministic = torch.backends.cudnn.deterministic
    torch.backends.cudnn.deterministic = True
    try:
        (eager, eager_model), (graph, graph_model) = graph_vs_eager(False)
    finally:
        torch.backends.cudnn.deterministic = deterministic
    assert len(graph_model._step_graphs) == 2 * len(PAIRS)
    torch.testing.assert_close(torch.tensor(graph), torch.tensor(eager),
                               rtol=1e-4, atol=1e-5)
    for (name, a), b in zip(eager_model.state_dict().items(),
                            graph_model.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5, msg=name)


@pytest.mark.cuda
def test_cuda_graph_bf16_step_trains():
    (eager, _), (graph, model) = graph_vs_eager(True, epochs=(0, ))
    assert len(model._step_graphs) == len(PAIRS)
    assert all(torch.isfinite(torch.tensor(graph)))
    # bf16 rounding differs between runs only through kernel choice
    torch.testing.assert_close(torch.tensor(graph), torch.tensor(eager),
                               rtol=5e-2, atol=5e-2)


@pytest.mark.cuda
def test_checkpoint_round_trip_from_gpu(tmp_path):
    from mmengine.runner.checkpoint import load_checkpoint, save_checkpoint
    model = build(layouts=(KINECT, SMPLX)).cuda().train()
    train(model, make_wrapper(model), [batch(PAIRS[1], 'cuda')])
    path = str(tmp_path / 'epoch_1.pth')
    save_checkpoint(dict(state_dict=model.state_dict()), path)
    for device in ('cpu', 'cuda'):
        other = build(layouts=(KINECT, SMPLX), seed=1).to(device)
        load_checkpoint(other, path, map_location=device, strict=True)
        for name, value in model.state_dict().items():
            assert torch.equal(other.state_dict()[name].cpu(), value.cpu()), \
                name
    saved = torch.load(path, map_location='cpu', weights_only=True)
    for name, value in model.state_dict().items():
        assert torch.equal(saved['state_dict'][name], value.cpu()), name


@pytest.mark.cuda
def test_one_process_nccl_group(tmp_path):
    """An NCCL group of one: collectives, mmengine's gathered enqueue and
    a DDP-wrapped training step (which runs eagerly)."""
    import torch.distributed as dist
    from mmengine.dist import all_gather, get_world_size
    from mmengine.model import MMDistributedDataParallel
    dist.init_process_group('nccl', init_method=f'file://{tmp_path}/init',
                            rank=0, world_size=1)
    try:
        x = torch.arange(4., device='cuda')
        dist.all_reduce(x)
        assert x.tolist() == [0., 1., 2., 3.] and get_world_size() == 1
        assert torch.equal(all_gather(x)[0], x)
        model = build(layouts=(KINECT, SMPLX), cuda_graph=True).cuda()
        # a grouped batch leaves the other convention's input BN and edge
        # importance without gradients
        ddp = MMDistributedDataParallel(module=model.train(),
                                        device_ids=[0],
                                        find_unused_parameters=True)
        wrapper = make_wrapper(model)
        losses = train(ddp, wrapper, [batch(p, 'cuda') for p in PAIRS])
        assert all(torch.isfinite(torch.tensor(losses)))
        assert int(model.queue_ptr) == 4 * len(PAIRS) % model.queue_len
        assert len(model._step_graphs) == 0  # DDP calls no module.train_step
    finally:
        dist.destroy_process_group()

