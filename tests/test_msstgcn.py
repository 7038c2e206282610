import copy

import pytest
import torch

from msclr_plugin.models import MSSTGCN

AIMCLR = dict(
    channels=(16, 16, 16, 16, 32, 32, 32, 64, 64, 256),
    down_stages=(5, 8),
    tcn_dropout=0.5)
TINY = dict(channels=(8, 8, 16, 16), num_stages=4, down_stages=(3, ))


def build(layouts, **kwargs):
    torch.manual_seed(0)
    cfg = dict(graph_cfg=dict(type='MultiSkeletonGraph', layouts=layouts))
    cfg.update(kwargs)
    model = MSSTGCN(**cfg)
    model.init_weights()
    return model


def warm_bn(model, batches):
    """Give every BN non-trivial running statistics."""
    model.train()
    with torch.no_grad():
        for x, skel in batches:
            model(x, skel)
    model.eval()


def test_aimclr_encoder_schedule():
    model = build(['kinectv2_25'], **AIMCLR)
    outs = [b.gcn.conv.out_channels // 3 for b in model.gcn]
    assert outs == [16, 16, 16, 16, 32, 32, 32, 64, 64, 256]
    assert [b.tcn.conv.stride[0] for b in model.gcn] == [1] * 4 + [2] + \
        [1] * 2 + [2] + [1] * 2
    assert model.gcn[0].residual_mode == 'none'
    assert model.gcn[0].tcn.drop is None
    assert all(b.tcn.drop.p == 0.5 for b in model.gcn[1:])
    out = model(torch.randn(2, 2, 50, 25, 3))
    assert out.shape == (2, 2, 256, 13, 25)
    # AimCLR's encoder, with its 256-256-128 projector (98,688 parameters),
    # has 0.92 M parameters at 25 joints (PERF_NOTES)
    n = sum(p.numel() for p in model.parameters())
    assert round((n + 98688) / 1e4) == 92


def test_mmaction_defaults_schedule():
    model = build(['nturgb+d'])
    assert model.channels == [64] * 4 + [128] * 3 + [256] * 3


@pytest.mark.parametrize('kwargs', [
    dict(), dict(gcn_adaptive='init', gcn_with_res=True),
    dict(gcn_adaptive='offset', data_bn_type='MVC'),
    dict(gcn_adaptive=None, tcn_dropout=0.3)
])
def test_from_stgcn_parity(kwargs):
    from mmaction.models import STGCN
    torch.manual_seed(0)
    stgcn = STGCN(
        graph_cfg=dict(layout='nturgb+d', mode='stgcn_spatial'), **kwargs)
    stgcn.init_weights()
    stgcn.train()
    with torch.no_grad():
        for _ in range(3):
            stgcn(torch.randn(4, 2, 20, 25, 3) * 2 + 1)
    stgcn.eval()
    assert stgcn.gcn[5].tcn.bn.running_var.std() > 0
    model = MSSTGCN.from_stgcn(stgcn).eval()
    x = torch.randn(3, 2, 20, 25, 3)
    with torch.no_grad():
        ref, out = stgcn(x), model(x)
    assert ref.abs().mean() > 1e-3
    scale = max(1.0, ref.abs().max().item())
    assert (ref - out).abs().max().item() < 1e-5 * scale


def test_padded_joints_never_matter():
    model = build(['kinectv2_25', 'smplx_42'], **TINY)
    x = torch.randn(4, 2, 20, 42, 3)
    skel = ['kinectv2_25', 'smplx_42', 'kinectv2_25', 'smplx_42']
    warm_bn(model, [(x, skel)])
    model.train()  # also with batch statistics
    torch.manual_seed(1)
    x2 = x.clone()
    x2[0, :, :, 25:] = torch.randn(2, 20, 17, 3) * 100
    x2[2, :, :, 25:] = float('nan')
    state = copy.deepcopy(model.state_dict())
    out1 = model(x, skel)
    model.load_state_dict(state)
    out2 = model(x2, skel)
    assert torch.equal(out1, out2)
    assert out1[0, :, :, :, 25:].abs().sum() == 0


def test_padded_joints_never_enter_bn_statistics():
    """A padded one-convention batch updates every BN exactly as the same
    batch at its native joint count does."""
    native = build(['kinectv2_25', 'smplx_42'], **TINY)
    padded = copy.deepcopy(native)
    x = torch.randn(6, 2, 20, 25, 3)
    xp = torch.cat([x, torch.randn(6, 2, 20, 17, 3) * 50], dim=3)
    native.train()
    padded.train()
    out_n = native(x, 'kinectv2_25')
    out_p = padded(xp, ['kinectv2_25'] * 6)
    torch.testing.assert_close(out_p[..., :25], out_n, atol=1e-5, rtol=1e-4)
    for (name, a), b in zip(native.state_dict().items(),
                            padded.state_dict().values()):
        if 'running' in name:
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4,
                                       msg=name)


def test_eval_features_same_mixed_or_grouped():
    model = build(['kinectv2_25', 'smplx_42'], **TINY)
    kin = torch.randn(3, 2, 20, 25, 3)
    smx = torch.randn(3, 2, 20, 42, 3)
    warm_bn(model, [(kin, 'kinectv2_25'), (smx, 'smplx_42')])
    mixed = torch.zeros(6, 2, 20, 42, 3)
    mixed[:3, ..., :25, :] = kin
    mixed[3:] = smx
    with torch.no_grad():
        out_mixed = model(mixed, ['kinectv2_25'] * 3 + ['smplx_42'] * 3)
        out_kin = model(kin, 'kinectv2_25')
        out_smx = model(smx, 'smplx_42')
    torch.testing.assert_close(out_mixed[:3, ..., :25], out_kin, atol=1e-5,
                               rtol=0)
    torch.testing.assert_close(out_mixed[3:], out_smx, atol=1e-5, rtol=0)


def test_per_convention_parameters_and_gradients():
    model = build(['kinectv2_25', 'smplx_42'], **TINY)
    names = dict(model.named_parameters())
    assert names['gcn.0.gcn.PA.kinectv2_25'].shape == (3, 25, 25)
    assert names['gcn.0.gcn.PA.smplx_42'].shape == (3, 42, 42)
    assert names['data_bn.smplx_42.weight'].shape == (42 * 3, )
    model.train()
    model(torch.randn(2, 2, 20, 25, 3), 'kinectv2_25').sum().backward()
    assert names['gcn.1.gcn.PA.kinectv2_25'].grad is not None
    assert names['gcn.1.gcn.PA.smplx_42'].grad is None
    assert names['data_bn.smplx_42.weight'].grad is None
    assert names['gcn.1.gcn.conv.weight'].grad is not None  # shared


def test_bad_conventions_are_reported():
    model = build(['kinectv2_25', 'smplx_42'], **TINY)
    with pytest.raises(ValueError, match='pass the convention'):
        model(torch.randn(1, 1, 10, 25, 3))
    with pytest.raises(KeyError, match='smpl_24'):
        model(torch.randn(1, 1, 10, 24, 3), 'smpl_24')
    with pytest.raises(ValueError, match='needing 42 joints arrived with 30'):
        model(torch.randn(2, 1, 10, 30, 3), ['kinectv2_25', 'smplx_42'])


def test_frozen_stages_and_norm_eval():
    model = build(['kinectv2_25'], frozen_stages=4, **TINY)
    model.train()
    assert not any(p.requires_grad for p in model.parameters())
    assert all(not m.training for m in model.modules()
               if isinstance(m, torch.nn.modules.batchnorm._BatchNorm))
    before = copy.deepcopy(model.state_dict())
    model(torch.randn(3, 2, 20, 25, 3), 'kinectv2_25')
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    half = build(['kinectv2_25'], frozen_stages=2, **TINY).train()
    assert not half.gcn[1].training and half.gcn[2].training
    assert half.gcn[2].gcn.conv.weight.requires_grad
    normev = build(['kinectv2_25'], norm_eval=True, **TINY).train()
    assert not normev.gcn[3].tcn.bn.training
    assert normev.gcn[3].tcn.conv.weight.requires_grad
