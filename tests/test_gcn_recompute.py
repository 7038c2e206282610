"""``gcn_recompute``: the graph product recomputed in backward gives the
plain path's outputs and gradients and keeps less for backward."""
import pytest
import torch

import msclr_plugin  # noqa: F401
from mmaction.registry import MODELS
from msclr_plugin.models.backbones.msstgcn import MSSTGCN
from msclr_plugin.models.layers import GraphConv
from .test_pretrain_models import KINECT, SMPLX, model_cfg, samples, views

LAYOUTS = ['kinectv2_25', 'smplx_42']
# (input joints, conventions): grouped batches at native joint counts and
# a mixed batch padded to 42 joints
BATCHES = {
    'grouped25': (25, 'kinectv2_25'),
    'grouped42': (42, 'smplx_42'),
    'padded': (42, ['kinectv2_25', 'smplx_42', 'smplx_42', 'kinectv2_25']),
}


def _pair(**kwargs):
    """The same encoder (AimCLR's, dropout on) without and with recompute."""
    models = []
    for recompute in (False, True):
        torch.manual_seed(0)
        models.append(
            MSSTGCN(
                graph_cfg=dict(type='MultiSkeletonGraph', layouts=LAYOUTS),
                channels=(8, 8, 16, 16),
                num_stages=4,
                down_stages=(3, ),
                tcn_dropout=0.5,
                gcn_recompute=recompute,
                **kwargs).train())
    models[1].load_state_dict(models[0].state_dict())
    assert all(b.gcn.recompute for b in models[1].gcn)
    return models


def _step(model, x, skeleton, seed=1):
    """Output and every gradient (input and parameters) of one backward."""
    torch.manual_seed(seed)  # the same dropout masks in both models
    leaf = x.clone().requires_grad_()
    y = model(leaf, skeleton)
    y.backward(torch.linspace(-1, 1, y.numel()).view_as(y))
    grads = {n: p.grad for n, p in model.named_parameters()
             if p.grad is not None}
    return y.detach(), leaf.grad, grads


@pytest.mark.parametrize('batch', sorted(BATCHES))
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_recompute_matches_plain(batch, dtype):
    joints, skeleton = BATCHES[batch]
    plain, recomputed = (m.to(dtype) for m in _pair())
    x = torch.randn(4, 2, 12, joints, 3, dtype=dtype)
    y0, gx0, g0 = _step(plain, x, skeleton)
    y1, gx1, g1 = _step(recomputed, x, skeleton)
    # the forward runs the same kernels: equal; gradients to 1e-6 (float32
    # sums in another order), to 1e-12 in float64
    assert torch.equal(y0, y1)
    tol = dict(rtol=1e-6, atol=1e-6) if dtype == torch.float32 else dict(
        rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gx1, gx0, **tol)
    assert g0.keys() == g1.keys()
    # the edge importance of the batch's conventions, and only those
    used = {skeleton} if isinstance(skeleton, str) else set(skeleton)
    assert {n.split('.')[-1] for n in g0 if '.PA.' in n} == used
    for name in g0:
        torch.testing.assert_close(g1[name], g0[name], **tol, msg=name)


@pytest.mark.parametrize('batch', sorted(BATCHES))
def test_recompute_no_grad_and_frozen(batch):
    joints, skeleton = BATCHES[batch]
    plain, recomputed = _pair()
    x = torch.randn(4, 2, 12, joints, 3)
    with torch.no_grad():
        torch.manual_seed(1)
        y0 = plain(x, skeleton)
        torch.manual_seed(1)
        y1 = recomputed(x, skeleton)
    assert torch.equal(y0, y1) and y1.grad_fn is None
    # frozen encoder (linear probe): no parameter needs a gradient, the
    # input does
    for model in (plain, recomputed):
        model.requires_grad_(False)
    _, gx0, g0 = _step(plain, x, skeleton)
    _, gx1, g1 = _step(recomputed, x, skeleton)
    assert g0 == g1 == {}
    torch.testing.assert_close(gx1, gx0, rtol=1e-6, atol=1e-6)


def test_recompute_bf16_autocast():
    """Under CPU bf16 autocast backward recomputes in bf16 and returns
    gradients in the parameters' dtype, as the plain path does."""
    plain, recomputed = _pair()
    x = torch.randn(4, 2, 12, 42, 3)
    out = []
    for model in (plain, recomputed):
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out.append(_step(model, x, BATCHES['padded'][1]))
    (y0, gx0, g0), (y1, gx1, g1) = out
    assert y1.dtype == y0.dtype and torch.equal(y0, y1)
    torch.testing.assert_close(gx1, gx0, rtol=2e-2, atol=2e-2)
    for name in g0:
        assert g1[name].dtype == g0[name].dtype == torch.float32
        torch.testing.assert_close(g1[name], g0[name], rtol=2e-2, atol=2e-2)


def _saved_bytes(fn):
    """Bytes of the distinct tensors autograd keeps for backward."""
    storages = {}

    def pack(t):
        storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return sum(storages.values())


@pytest.mark.parametrize('per_sample', [False, True])
def test_recompute_keeps_less(per_sample):
    """A graph unit stops keeping its K-times-wider convolution output."""
    torch.manual_seed(0)
    A = torch.rand(3, 25, 25)
    kept = []
    for recompute in (False, True):
        gcn = GraphConv(16, 16, {'a': A}, recompute=recompute).train()
        x = torch.randn(8, 16, 20, 25, requires_grad=True)
        adj = gcn.effective(A, 'a')
        if per_sample:
            adj = adj.expand(8, -1, -1, -1)
        kept.append(_saved_bytes(lambda: gcn(x, adj)))
    activation = 8 * 16 * 20 * 25 * 4
    # plain: input, conv output (3x), BN input, ReLU output (+ A, weights);
    # recomputed: the conv output is gone
    assert kept[0] - kept[1] >= 3 * activation
    assert kept[1] < 3.2 * activation


@pytest.mark.parametrize('padded', [False, True])
def test_ms_aimclr_config_key(padded):
    """``backbone.gcn_recompute`` in an MS-AimCLR config: the same losses
    and gradients from one pretraining loss (query encoders with
    gradients, key encoder without)."""
    mixed = [KINECT, SMPLX, SMPLX, KINECT]
    results = []
    for recompute in (False, True):
        cfg = model_cfg(layouts=(KINECT, SMPLX))
        cfg['backbone'].update(gcn_recompute=recompute, tcn_dropout=0.5)
        torch.manual_seed(0)
        model = MODELS.build(cfg).train()
        assert all(b.gcn.recompute == recompute for b in model.backbone.gcn)
        if padded:
            inputs, data = views(42, 42), samples(mixed, mixed[::-1])
        else:
            inputs, data = views(42, 25), samples(SMPLX, KINECT)
        torch.manual_seed(1)
        losses = model.loss(inputs, data)
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()
        results.append((losses, {n: p.grad for n, p in model.named_parameters()
                                 if p.grad is not None}))
    (l0, g0), (l1, g1) = results
    for key in l0:
        torch.testing.assert_close(l1[key], l0[key], rtol=1e-6, atol=1e-6)
    assert g0.keys() == g1.keys() and any('.PA.' in n for n in g0)
    for name in g0:
        torch.testing.assert_close(g1[name], g0[name], rtol=1e-6, atol=1e-6,
                                   msg=name)
