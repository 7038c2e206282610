"""ST-GCN++, AAGCN and CTR-GCN over several conventions (issue 25).

With one convention each backbone equals its single-graph original given
converted weights: mmaction2's ``STGCN`` (ST-GCN++ settings) and ``AAGCN``,
and CTR-GCN as published (written below from the paper and the reference
code's facts). With two, grouped and mixed (padded) batches train, padded
joints never matter and every per-convention part stays per convention.
"""
import copy

import pytest
import torch
import torch.nn as nn

from msclr_plugin.models import (MSAAGCN, MSCTRGCN, MSSTGCNPlusPlus,
                                 ctrgcn_state_dict_to_msctrgcn)
from msclr_plugin.models.graphs import adjacency
from msclr_plugin.models.layers.conventions import convention_parameters
from .test_host_syncs import reads  # noqa: F401  (fixture)

KIN, SMX = 'kinectv2_25', 'smplx_42'
TINY = dict(channels=(8, 8, 16, 16), num_stages=4, down_stages=(3, ))
BACKBONES = dict(stgcnpp=MSSTGCNPlusPlus, aagcn=MSAAGCN, ctrgcn=MSCTRGCN)


def relative_error(ref: torch.Tensor, out: torch.Tensor) -> float:
    return ((ref - out).abs().max() / ref.abs().max()).item()


def parity(ref: nn.Module, model: nn.Module, x: torch.Tensor,
           ref_input=lambda x: x) -> torch.Tensor:
    """(Models at base width 16 to keep the suite short: the width changes
    no computation.) Both models' outputs agree to 1e-6 relative in float64 (float32
    results differ by rounding alone, up to a few 1e-6 after ten blocks of
    perturbed weights); returns the reference's float32 output."""
    with torch.no_grad():
        out = ref(ref_input(x))
        assert relative_error(out, model(x)) < 1e-5
        assert relative_error(ref.double()(ref_input(x.double())),
                              model.double()(x.double())) < 1e-6
    ref.float()
    model.float()
    return out


def perturb_and_warm(model: nn.Module, call) -> None:
    """Move every weight off its initial value (zero-initialised gates such
    as alpha and the attentions become active) and give every BN running
    statistics, then switch to eval."""
    torch.manual_seed(1)
    with torch.no_grad():
        for param in model.parameters():
            param.add_(torch.randn_like(param) * 0.05)
        model.train()
        for _ in range(2):
            call(torch.randn(2, 2, 8, 25, 3) * 2 + 1)
    model.eval()


def build(name, layouts=(KIN, SMX), **kwargs):
    torch.manual_seed(0)
    model = BACKBONES[name](
        graph_cfg=dict(type='MultiSkeletonGraph', layouts=list(layouts),
                       mode='spatial'),
        **dict(TINY, **kwargs))
    model.init_weights()
    return model


# ------------------------------------------------------------------ parity
def test_stgcnpp_equals_mmaction_stgcn():
    from mmaction.models import STGCN
    torch.manual_seed(0)
    ref = STGCN(
        graph_cfg=dict(layout='nturgb+d', mode='spatial'),
        gcn_adaptive='init', gcn_with_res=True, tcn_type='mstcn',
        base_channels=16)
    perturb_and_warm(ref, ref)
    model = MSSTGCNPlusPlus.from_stgcn(ref).eval()
    assert type(model) is MSSTGCNPlusPlus
    assert model.gcn[1].tcn.transform is not None  # the multi-scale unit
    parity(ref, model, torch.randn(2, 2, 8, 25, 3))


@pytest.mark.parametrize('kwargs', [
    dict(), dict(gcn_attention=False, data_bn_type='VC'),
    dict(gcn_adaptive=False)
])
def test_aagcn_equals_mmaction_aagcn(kwargs):
    from mmaction.models import AAGCN
    torch.manual_seed(0)
    ref = AAGCN(graph_cfg=dict(layout='nturgb+d', mode='spatial'),
                base_channels=16, **kwargs)
    perturb_and_warm(ref, ref)
    model = MSAAGCN.from_aagcn(ref).eval()
    x = torch.randn(2, 2, 8, 25, 3)
    out = parity(ref, model, x)
    with torch.no_grad():
        if kwargs.get('gcn_attention', True):  # the attention matters
            model.gcn[3].gcn.conv_sa['nturgb+d'].weight.mul_(2)
            assert relative_error(out, model(x)) > 1e-4


class RefCTRGC(nn.Module):
    """CTR-GC as published: relation channels 8 for a 3/9-channel input,
    else in/8; Z = einsum(alpha * conv4(tanh(x1_u - x2_v)) + A, conv3(x))."""

    def __init__(self, cin, cout):
        super().__init__()
        rel = 8 if cin in (3, 9) else cin // 8
        self.conv1 = nn.Conv2d(cin, rel, 1)
        self.conv2 = nn.Conv2d(cin, rel, 1)
        self.conv3 = nn.Conv2d(cin, cout, 1)
        self.conv4 = nn.Conv2d(rel, cout, 1)

    def forward(self, x, A, alpha):
        q = self.conv1(x).mean(2)
        k = self.conv2(x).mean(2)
        topo = self.conv4(torch.tanh(q[..., :, None] - k[..., None, :]))
        topo = topo * alpha + A[None, None]
        # joint u gathers topo[u, v] * x_v from every joint v
        return (topo[:, :, None] * self.conv3(x)[..., None, :]).sum(-1)


class RefGCN(nn.Module):

    def __init__(self, cin, cout, A):
        super().__init__()
        self.convs = nn.ModuleList(RefCTRGC(cin, cout) for _ in A)
        self.PA = nn.Parameter(A.clone())
        self.alpha = nn.Parameter(torch.zeros(1))
        self.bn = nn.BatchNorm2d(cout)
        self.down = (nn.Sequential(nn.Conv2d(cin, cout, 1),
                                   nn.BatchNorm2d(cout))
                     if cin != cout else nn.Identity())

    def forward(self, x):
        y = sum(conv(x, self.PA[i], self.alpha)
                for i, conv in enumerate(self.convs))
        return torch.relu(self.bn(y) + self.down(x))


class RefTemporal(nn.Module):
    """conv (k, 1) with dilation, 'same' padding, then BN."""

    def __init__(self, cin, cout, k, stride=1, dilation=1):
        super().__init__()
        pad = (k + (k - 1) * (dilation - 1) - 1) // 2
        self.conv = nn.Conv2d(cin, cout, (k, 1), (stride, 1), (pad, 0),
                              (dilation, 1))
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(x))


class RefMSTCN(nn.Module):
    """Branches (k=5, d=1), (k=5, d=2), max-pool 3 and 1x1, each
    out/4 channels, concatenated (no residual inside)."""

    def __init__(self, c, stride):
        super().__init__()
        b = c // 4

        def stem():
            return [nn.Conv2d(c, b, 1), nn.BatchNorm2d(b), nn.ReLU()]

        self.branches = nn.ModuleList([
            nn.Sequential(*stem(), RefTemporal(b, b, 5, stride, 1)),
            nn.Sequential(*stem(), RefTemporal(b, b, 5, stride, 2)),
            nn.Sequential(*stem(), nn.MaxPool2d((3, 1), (stride, 1),
                                                (1, 0)), nn.BatchNorm2d(b)),
            nn.Sequential(nn.Conv2d(c, b, 1, (stride, 1)), nn.BatchNorm2d(b)),
        ])

    def forward(self, x):
        return torch.cat([branch(x) for branch in self.branches], 1)


class RefUnit(nn.Module):

    def __init__(self, cin, cout, A, stride=1, residual=True):
        super().__init__()
        self.gcn1 = RefGCN(cin, cout, A)
        self.tcn1 = RefMSTCN(cout, stride)
        self.plain = residual and cin == cout and stride == 1
        if residual and not self.plain:
            self.residual = RefTemporal(cin, cout, 1, stride)
        self.has_residual = residual

    def forward(self, x):
        res = 0
        if self.plain:
            res = x
        elif self.has_residual:
            res = self.residual(x)
        return torch.relu(self.tcn1(self.gcn1(x)) + res)


class RefCTRGCN(nn.Module):
    """The published CTR-GCN encoder (no classifier): MVC input BN, ten
    units of widths base x4, 2 base x3 (stride 2 at l5), 4 base x3 (stride
    2 at l8), base 64 in the paper; input (N, C, T, V, M) as the
    reference."""

    def __init__(self, A, num_person=2, cin=3, base=64):
        super().__init__()
        V = A.shape[-1]
        self.data_bn = nn.BatchNorm1d(num_person * cin * V)
        widths = [base] * 4 + [2 * base] * 3 + [4 * base] * 3
        prev = cin
        for i, width in enumerate(widths, 1):
            setattr(self, f'l{i}', RefUnit(prev, width, A,
                                           stride=2 if i in (5, 8) else 1,
                                           residual=i > 1))
            prev = width

    def forward(self, x):
        N, C, T, V, M = x.shape
        x = self.data_bn(x.permute(0, 4, 3, 1, 2).reshape(N, M * V * C, T))
        x = x.view(N, M, V, C, T).permute(0, 1, 3, 4, 2).reshape(
            N * M, C, T, V)
        for i in range(1, 11):
            x = getattr(self, f'l{i}')(x)
        return x.view((N, M) + x.shape[1:])


def test_ctrgcn_equals_published_architecture():
    torch.manual_seed(0)
    ref = RefCTRGCN(torch.from_numpy(adjacency(KIN, 'spatial')).float(),
                    base=16)
    perturb_and_warm(ref, lambda x: ref(x.permute(0, 4, 2, 3, 1)))
    model = MSCTRGCN(graph_cfg=dict(type='MultiSkeletonGraph',
                                    layouts=[KIN], mode='spatial'),
                     base_channels=16)
    model.load_state_dict(
        ctrgcn_state_dict_to_msctrgcn(ref.state_dict(), KIN))
    model.eval()
    parity(ref, model, torch.randn(2, 2, 8, 25, 3),
           lambda x: x.permute(0, 4, 2, 3, 1))


# ------------------------------------------------------- several conventions
@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_grouped_and_mixed_batches_train(name):
    model = build(name).train()
    kin, smx = torch.randn(2, 2, 8, 25, 3), torch.randn(2, 2, 8, 42, 3)
    grouped = model(kin, KIN).sum() + model(smx, SMX).sum()
    mixed = torch.zeros(4, 2, 8, 42, 3)
    mixed[:2, ..., :25, :] = kin
    mixed[2:] = smx
    out = model(mixed, [KIN, KIN, SMX, SMX])
    assert out.shape == (4, 2, 16, 4, 42)
    assert out[:2, ..., 25:].abs().sum() == 0
    (grouped + out.sum()).backward()
    per_convention = {
        id(p)
        for p in convention_parameters(model, [KIN, SMX])
    }
    for pname, param in model.named_parameters():
        assert param.grad is not None, pname
        assert torch.isfinite(param.grad).all(), pname
        if id(param) not in per_convention:
            assert KIN not in pname and SMX not in pname, pname


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_mixed_batch_equals_grouped_and_padding_never_matters(name):
    model = build(name)
    kin, smx = torch.randn(3, 2, 8, 25, 3), torch.randn(3, 2, 8, 42, 3)
    perturb_and_warm(model, lambda x: model(x, KIN))
    mixed = torch.cat([torch.cat([kin, torch.zeros(3, 2, 8, 17, 3)], 3),
                       smx])
    skeletons = [KIN] * 3 + [SMX] * 3
    with torch.no_grad():
        out = model(mixed, skeletons)
        assert relative_error(model(kin, KIN), out[:3, ..., :25]) < 1e-5
        assert relative_error(model(smx, SMX), out[3:]) < 1e-5
    # in training too (batch statistics): padded values are never read
    model.train()
    noisy = mixed.clone()
    noisy[:3, ..., 25:, :] = torch.randn(3, 2, 8, 17, 3) * 100
    state = copy.deepcopy(model.state_dict())
    with torch.no_grad():
        clean = model(mixed, skeletons)
        model.load_state_dict(state)
        assert relative_error(clean, model(noisy, skeletons)) < 1e-5


def test_per_convention_parts():
    params = dict(build('aagcn').named_parameters())
    assert params[f'gcn.0.gcn.A.{SMX}'].shape == (3, 42, 42)
    assert params[f'gcn.0.gcn.conv_sa.{KIN}.weight'].shape == (1, 8, 25)
    assert params[f'gcn.0.gcn.conv_sa.{SMX}.weight'].shape == (1, 8, 41)
    assert params['gcn.0.gcn.alpha'].shape == (1, )  # shared
    params = dict(build('ctrgcn').named_parameters())
    assert params[f'gcn.2.gcn.PA.{KIN}'].shape == (3, 25, 25)
    assert params[f'data_bn.{SMX}.weight'].shape == (2 * 42 * 3, )  # MVC
    params = dict(build('stgcnpp').named_parameters())
    assert params[f'gcn.1.gcn.PA.{SMX}'].shape == (3, 42, 42)


@pytest.mark.parametrize('name', sorted(BACKBONES))
def test_ddp_anchor_reaches_every_idle_convention_part(name, monkeypatch):
    """Under several processes a one-convention batch still gives every
    per-convention parameter of the other conventions a (zero) gradient, so
    DDP runs without find_unused_parameters."""
    from msclr_plugin.models import utils
    monkeypatch.setattr(utils, 'is_distributed', lambda: True)
    monkeypatch.setattr(utils, 'get_world_size', lambda: 2)
    model = build(name).train()
    model(torch.randn(2, 2, 12, 25, 3), KIN).sum().backward()
    idle = list(convention_parameters(model, [SMX]))
    assert len(idle) > 2
    for param in idle:
        assert param.grad is not None and not param.grad.any()
    for param in convention_parameters(model, [KIN]):
        assert param.grad is not None and param.grad.any()


@pytest.fixture(params=sorted(BACKBONES))
def backbone(request):
    """Built (and initialised) before the ``reads`` spy starts."""
    return build(request.param).train()


def test_training_step_reads_nothing_from_the_device(backbone, reads):
    """Conventions are routed on the host, so a CUDA step has no
    synchronisation and can be captured in a CUDA graph (MSMoCo's
    cuda_graph), in grouped and mixed batches alike."""
    model = backbone
    model(torch.randn(2, 2, 8, 25, 3), KIN).sum().backward()
    model(torch.randn(4, 2, 8, 42, 3), [KIN, SMX, SMX, KIN]).sum().backward()
    assert not reads


def _ddp_worker(rank):
    """Rank 0 trains on Kinect clips, rank 1 on SMPL-X: each rank's batch
    leaves the other convention's parts idle."""
    from torch.nn.parallel import DistributedDataParallel as DDP
    out = {}
    for name in sorted(BACKBONES):
        model = DDP(build(name).train())  # no find_unused_parameters
        optim = torch.optim.SGD(model.parameters(), lr=0.1)
        torch.manual_seed(rank)
        skeleton, joints = [(KIN, 25), (SMX, 42)][rank]
        for _ in range(2):
            optim.zero_grad()
            model(torch.randn(2, 2, 8, joints, 3), skeleton).sum().backward()
            optim.step()
        out[name] = {k: v for k, v in model.module.state_dict().items()
                     if 'running_' not in k and 'num_batches' not in k}
    return out


@pytest.mark.dist
def test_ddp_with_a_convention_per_rank(tmp_path):
    from .test_distributed import spawn_two
    ranks = spawn_two(_ddp_worker, tmp_path)
    for name in BACKBONES:
        assert ranks[0][name].keys() == ranks[1][name].keys()
        for key, value in ranks[0][name].items():  # gradients all-reduced
            assert torch.equal(value, ranks[1][name][key]), (name, key)
