"""The fast CPU paths compute what the plain formulations compute."""
import platform

import pytest
import torch
import torch.nn as nn

import msclr_plugin  # noqa: F401
from msclr_plugin.models.backbones.msstgcn import MSSTGCN
from msclr_plugin.models.layers import (GraphConv, MaskedBatchNorm2d,
                                        MSDropout, STGCNBlock)
from msclr_plugin.models.layers.dropout import keep_mask
from msclr_plugin.utils import tune_allocator

LAYOUTS = ['kinectv2_25', 'smplx_42']


@pytest.mark.parametrize('p', [0.5, 0.3, 0.1])
def test_dropout_is_a_true_dropout(p):
    torch.manual_seed(0)
    x = torch.rand(200, 1000) + 0.5
    drop = MSDropout(p).train()
    y = drop(x)
    dropped = y == 0
    # 200k independent draws: the standard error of the fraction is ~1e-3
    assert abs(dropped.float().mean().item() - p) < 5e-3
    kept = ~dropped
    torch.testing.assert_close(y[kept], x[kept] / (1 - p), rtol=1e-4,
                               atol=1e-5)
    # unbiased: E[y] = x (relative error of the mean ~ 2e-3 at p=0.5)
    assert abs(y.mean().item() / x.mean().item() - 1) < 1e-2
    # no structure along the packed bytes: every position of a word drops
    per_lane = dropped.view(-1, 8).float().mean(0)
    assert (per_lane - p).abs().max().item() < 1.5e-2


def test_dropout_mask_threshold_resolution():
    x = torch.empty(1 << 20)
    mask, keep = keep_mask(x, 0.5)
    assert keep == 0.5 and mask.dtype == torch.bool
    assert keep_mask(x, 0.3)[1] == pytest.approx(0.7, abs=1e-5)


def test_dropout_gradient_and_inplace_match():
    x = torch.randn(64, 16, 10, 25)
    outs, grads = [], []
    for inplace in (False, True):
        torch.manual_seed(3)
        leaf = x.clone().requires_grad_()
        y = MSDropout(0.5, inplace=inplace).train()(leaf * 1)
        g = torch.randn_like(y)
        y.backward(g)
        outs.append(y.detach())
        grads.append(leaf.grad)
        # d y / d x is the same mask and scale as the forward
        torch.testing.assert_close(leaf.grad, g * (y.detach() != 0) * 2.0)
    torch.testing.assert_close(outs[0], outs[1])
    torch.testing.assert_close(grads[0], grads[1])


def test_dropout_seeded_eval_and_edge_cases():
    x = torch.randn(4, 8, 5, 25)
    drop = MSDropout(0.5)
    torch.manual_seed(1)
    a = drop(x)
    torch.manual_seed(1)
    assert torch.equal(a, drop(x))
    assert not torch.equal(a, drop(x))
    assert drop.eval()(x) is x
    assert MSDropout(0.).train()(x) is x
    assert MSDropout(1.).train()(x).abs().sum() == 0
    assert isinstance(drop, nn.Dropout) and drop.state_dict() == {}


def _reference_gcn(gcn, x, A, mask):
    """GraphConv as written before (einsum, out-of-place)."""
    n, _, t, v = x.shape
    y = gcn.conv(x).view(n, gcn.num_subsets, -1, t, v)
    eq = 'nkctv,kvw->nctw' if A.dim() == 3 else 'nkctv,nkvw->nctw'
    return torch.relu(gcn.bn(torch.einsum(eq, y, A), mask))


@pytest.mark.parametrize('per_sample', [False, True])
def test_graph_conv_matches_einsum(per_sample):
    torch.manual_seed(0)
    A = {'a': torch.rand(3, 25, 25)}
    gcn = GraphConv(8, 16, A).train()
    x = torch.randn(6, 8, 7, 25)
    scale = torch.rand(6, 1, 1, 1)
    mask = None
    if per_sample:
        mask = torch.ones(6, 25, dtype=torch.bool)
        mask[::2, 20:] = False
    results = []
    for fn in (gcn, lambda *a: _reference_gcn(gcn, *a)):
        leaf = x.clone().requires_grad_()
        gcn.zero_grad()
        adj = gcn.effective(A['a'], 'a')
        if per_sample:
            adj = adj.expand(6, -1, -1, -1) * scale
        y = fn(leaf, adj, mask)
        y.backward(torch.linspace(-1, 1, y.numel()).view_as(y))
        results.append((y.detach(), leaf.grad, gcn.conv.weight.grad.clone(),
                        gcn.PA['a'].grad.clone()))
    for new, ref in zip(*results):
        torch.testing.assert_close(new, ref, rtol=1e-4, atol=1e-5)


def test_block_inplace_residual_matches_out_of_place():
    """In-place residual adds leave the gradients of a block unchanged."""
    torch.manual_seed(0)
    A = {'a': torch.rand(3, 25, 25)}
    block = STGCNBlock(16, 32, A, stride=2, gcn_with_res=True).train()
    x = torch.randn(4, 16, 12, 25, requires_grad=True)
    adj = block.gcn.effective(A['a'], 'a')
    y = block(x, adj)
    y.sum().backward()
    grads = [x.grad.clone()] + [p.grad.clone() for p in block.parameters()]
    x.grad = None
    block.zero_grad()
    gcn = block.gcn
    adj = gcn.effective(A['a'], 'a')
    h = gcn.conv(x).view(4, 3, -1, 12, 25)
    h = gcn.bn(torch.einsum('nkctv,kvw->nctw', h, adj))
    h = torch.relu(h + gcn.down(x))
    ref = torch.relu(block.tcn(h) + block.residual(x))
    torch.testing.assert_close(y, ref, rtol=1e-4, atol=1e-5)
    ref.sum().backward()
    ref_grads = [x.grad] + [p.grad for p in block.parameters()]
    for new, old in zip(grads, ref_grads):
        torch.testing.assert_close(new, old, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize('mixed', [False, True])
def test_backbone_bf16_autocast(mixed):
    """Native and masked (padded) batches run under CPU bf16 autocast,
    with float32 BN statistics, and train (backward) without dtype errors."""
    torch.manual_seed(0)
    model = MSSTGCN(
        graph_cfg=dict(type='MultiSkeletonGraph', layouts=LAYOUTS),
        channels=(8, 8, 16, 16),
        num_stages=4,
        inflate_stages=(),
        down_stages=(3, ),
        tcn_dropout=0.5,
        init_cfg=None).train()
    V = 42 if mixed else 25
    x = torch.randn(4, 2, 12, V, 3)
    skeleton = ['kinectv2_25', 'smplx_42'] * 2 if mixed else 'kinectv2_25'
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = model(x, skeleton)
    assert out.dtype == torch.bfloat16
    out.float().square().mean().backward()
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    assert grads and all(g.dtype == torch.float32 for g in grads)
    assert all(torch.isfinite(g).all() for g in grads)
    bn = model.gcn[1].gcn.bn
    assert bn.running_mean.dtype == torch.float32
    assert torch.isfinite(bn.running_var).all()
    if mixed:  # padded joints stay zero
        assert out[0, :, :, :, 25:].abs().sum() == 0


def test_masked_bn_bf16_close_to_fp32():
    torch.manual_seed(0)
    bn = MaskedBatchNorm2d(8).train()
    x = torch.randn(6, 8, 10, 42)
    mask = torch.ones(6, 42, dtype=torch.bool)
    mask[:3, 25:] = False
    ref = bn(x, mask)
    out = bn(x.bfloat16(), mask)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), ref, rtol=0.02, atol=0.02)


def test_tune_allocator(monkeypatch):
    glibc = platform.libc_ver()[0] == 'glibc'
    assert tune_allocator(False) is False
    monkeypatch.delenv('MSCLR_TUNE_MALLOC', raising=False)
    assert tune_allocator() is False
    monkeypatch.setenv('MSCLR_TUNE_MALLOC', '1')
    assert tune_allocator() == glibc
    assert tune_allocator(True) == glibc
    # allocations still work (large blocks now come from the heap)
    big = torch.ones(1 << 23)
    assert big.sum().item() == 1 << 23
