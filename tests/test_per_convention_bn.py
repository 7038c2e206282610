"""Per-convention BatchNorm (ConventionBatchNorm, MSSTGCN/MSProjectionNeck
``per_convention_bn``), the per-convention precise BN of evaluation and the
cosines by key convention of the pretraining log (issue 21)."""
import copy

import pytest
import torch

import msclr_plugin  # noqa: F401  (registers everything)
from mmaction.registry import MODELS
from msclr_plugin.models.layers import (ConventionBatchNorm,
                                        convert_sync_batchnorm, set_norm_conventions)
from msclr_plugin.utils.checkpoint import load_checkpoint_strict
from .conftest import ROOT
from .test_distributed import ddp_steps, spawn_two
from .test_pretrain_models import KINECT, SMPLX, build, model_cfg, samples, views
from .test_reference_parity import converted, max_diffs, run  # noqa: F401

LAYOUTS = [KINECT, SMPLX]


def backbone_cfg(per_convention_bn=True, shared=True, layouts=LAYOUTS, **extra):
    return dict(model_cfg()['backbone'],
                graph_cfg=dict(type='MultiSkeletonGraph', layouts=list(layouts)),
                per_convention_bn=per_convention_bn, shared_bn_affine=shared, **extra)


def make_backbone(seed=0, **kwargs):
    torch.manual_seed(seed)
    backbone = MODELS.build(backbone_cfg(**kwargs))
    backbone.init_weights()
    return backbone


def stats(module, conv):
    """(running_mean, running_var, num_batches_tracked) of a convention in
    every ConventionBatchNorm of ``module``."""
    return [(bn.norms[conv].running_mean.clone(), bn.norms[conv].running_var.clone(),
             bn.norms[conv].num_batches_tracked.clone())
            for bn in module.modules() if isinstance(bn, ConventionBatchNorm)]


def same(a, b):
    return all(torch.equal(x, y) for pa, pb in zip(a, b) for x, y in zip(pa, pb))


def clips(n, v, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 2, 20, v, 3, generator=g) * 2 + 1


@pytest.mark.parametrize('shared', [True, False])
def test_grouped_batch_leaves_other_conventions_statistics(shared):
    backbone = make_backbone(shared=shared).train()
    before = stats(backbone, SMPLX)
    assert len(before) == 4 * 2 + 1  # gcn + tcn BNs, one residual conv
    backbone(clips(4, 25, 0), KINECT)
    assert same(stats(backbone, SMPLX), before)  # untouched by a Kinect batch
    kinect = stats(backbone, KINECT)
    assert all(int(n) == 1 for _, _, n in kinect)
    backbone(clips(4, 42, 1), SMPLX)
    assert same(stats(backbone, KINECT), kinect)
    assert all(int(n) == 1 for _, _, n in stats(backbone, SMPLX))


def test_grouped_training_equals_one_bn_and_evaluation_uses_own_statistics():
    """In training, a one-convention batch sees exactly what a single BN
    does; in evaluation each convention has its own statistics, where the
    single BN mixes them."""
    plain = make_backbone(per_convention_bn=False).train()
    per = make_backbone().train()
    per.load_state_dict(plain.state_dict())  # single-BN keys expanded
    xk, xs = clips(4, 25, 0), clips(4, 42, 1)
    for conv, x in ((KINECT, xk), (SMPLX, xs)):
        assert torch.allclose(plain(x, conv), per(x, conv), atol=1e-6)
    plain.eval(), per.eval()
    # evaluation: the per-convention model equals a single-BN model whose
    # statistics are those of the Kinect batch only
    only = make_backbone(per_convention_bn=False).train()
    only.load_state_dict(make_backbone(per_convention_bn=False).state_dict())
    only(xk, KINECT)
    only.eval()
    assert torch.allclose(per(xk, KINECT), only(xk, KINECT), atol=1e-5)
    assert not torch.allclose(plain(xk, KINECT), only(xk, KINECT), atol=1e-3)


def test_mixed_padded_batch_statistics_per_convention_without_padding():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 5, 7, 42, generator=g) * 3 + 1
    convs = [0, 1, 0, 1, 1, 0]
    mask = torch.zeros(6, 42, dtype=torch.bool)
    for row, conv in enumerate(convs):
        mask[row, :25 if conv == 0 else 42] = True
        x[row, :, :, 25 if conv == 0 else 42:] = 1e4  # padding never counts
    norm = ConventionBatchNorm(5, LAYOUTS, shared_affine=False).train()
    with torch.no_grad():
        for bn in norm.norms.values():
            bn.weight.uniform_(0.5, 1.5, generator=g)
            bn.bias.uniform_(-1, 1, generator=g)
    refs = {c: copy.deepcopy(norm.norms[LAYOUTS[c]]) for c in (0, 1)}
    set_norm_conventions(norm, convs)
    out = norm(x, mask)
    for c, ref in refs.items():
        rows = torch.tensor([i for i, k in enumerate(convs) if k == c])
        num = 25 if c == 0 else 42
        expected = ref(x[rows][..., :num])  # native joints, no mask
        assert torch.allclose(out[rows][..., :num], expected, atol=1e-4)
        bn = norm.norms[LAYOUTS[c]]
        assert torch.allclose(bn.running_mean, ref.running_mean, atol=1e-5)
        assert torch.allclose(bn.running_var, ref.running_var, atol=1e-4)
    # every convention's rows evaluate with its own running statistics
    norm.eval()
    out = norm(x, mask)
    for c, ref in refs.items():
        rows = torch.tensor([i for i, k in enumerate(convs) if k == c])
        assert torch.allclose(out[rows], ref.eval()(x[rows]), atol=1e-4)


def test_single_row_of_a_convention_in_a_projector_batch():
    """A mixed leftover batch may hold one clip of a convention: the
    projector's BN normalises it by that convention's running statistics
    (no batch statistics from one row) and leaves them as they are."""
    norm = ConventionBatchNorm(4, LAYOUTS, dims=1).train()
    with torch.no_grad():
        norm.norms[SMPLX].running_mean.fill_(2.)
    set_norm_conventions(norm, [0, 0, 1])
    x = torch.randn(3, 4)
    out = norm(x)
    assert int(norm.norms[SMPLX].num_batches_tracked) == 0
    assert int(norm.norms[KINECT].num_batches_tracked) == 1
    assert torch.allclose(out[2], (x[2] - 2.) / (1 + 1e-5) ** 0.5, atol=1e-6)


@pytest.mark.parametrize('out_norm', [False, True])
def test_mixed_batch_through_the_backbone_equals_grouped_in_evaluation(out_norm):
    backbone = make_backbone(shared=False, out_norm=out_norm).train()
    backbone(clips(4, 25, 0), KINECT)
    backbone(clips(4, 42, 1), SMPLX)
    backbone.eval()
    xk, xs = clips(2, 25, 2), clips(2, 42, 3)
    mixed = torch.cat([torch.nn.functional.pad(xk, (0, 0, 0, 17)), xs])
    with torch.no_grad():
        out = backbone(mixed, [KINECT, KINECT, SMPLX, SMPLX])
        assert torch.allclose(out[:2, ..., :25], backbone(xk, KINECT), atol=1e-5)
        assert torch.allclose(out[2:], backbone(xs, SMPLX), atol=1e-5)


def test_output_bn_standardises_each_convention_by_its_own_statistics():
    """``out_norm``: no parameters, a batch's features centred in training,
    each convention's by its own running statistics in evaluation."""
    backbone = make_backbone(per_convention_bn=False, out_norm=True).train()
    plain = make_backbone(per_convention_bn=False)
    assert [k for k, _ in backbone.named_parameters()] == \
        [k for k, _ in plain.named_parameters()]
    pooled = backbone(clips(4, 25, 0), KINECT).mean(dim=(1, 3, 4))
    assert torch.allclose(pooled.mean(0), torch.zeros(pooled.shape[1]), atol=1e-5)
    backbone(clips(4, 42, 1) * 3 - 2, SMPLX)
    norms = backbone.out_norm.norms
    assert not torch.allclose(norms[KINECT].running_mean, norms[SMPLX].running_mean)
    backbone.eval()
    without = copy.deepcopy(backbone)
    without.out_norm = None
    for conv, x in ((KINECT, clips(2, 25, 2)), (SMPLX, clips(2, 42, 3))):
        with torch.no_grad():
            raw, out = without(x, conv), backbone(x, conv)
        bn = norms[conv]
        shape = (1, 1, -1, 1, 1)
        expected = (raw - bn.running_mean.view(shape)) / (
            bn.running_var.view(shape) + bn.eps).sqrt()
        assert torch.allclose(out, expected, atol=1e-5), conv
    # its statistics are checkpoint entries: a checkpoint without them is refused
    from msclr_plugin.utils.checkpoint import (CheckpointMismatchError,
                                               load_state_dict_strict)
    with pytest.raises(CheckpointMismatchError,
                       match=r'no backbone output BN: set model\.backbone\.out_norm=False'):
        load_state_dict_strict(backbone, plain.state_dict(), 'plain.pth')
    # and the other way: a probe config that forgot its encoder's option
    with pytest.raises(CheckpointMismatchError,
                       match=r'output BN: set model\.backbone\.out_norm=True'):
        load_state_dict_strict(plain, backbone.state_dict(), 'out_norm.pth')
    # the linear probe's frozen encoder: the output BN stays in eval mode
    frozen = make_backbone(per_convention_bn=False, out_norm=True,
                           frozen_stages=4).train()
    before = stats(frozen, KINECT)
    assert not frozen.out_norm.training
    frozen(clips(4, 25, 0), KINECT)
    assert same(stats(frozen, KINECT), before)


def test_state_dict_round_trip_and_resume():
    model = build(layouts=LAYOUTS, backbone=backbone_cfg(shared=False),
                  neck=dict(model_cfg()['neck'], norm_cfg=dict(type='BN1d'),
                            per_convention_bn=True, shared_bn_affine=False))
    model.init_weights()
    model(views(25, 42), samples(KINECT, SMPLX), mode='loss')
    state = model.state_dict()
    assert 'neck.projector.1.norms.smplx_42.running_mean' in state
    assert 'momentum_backbone.gcn.0.gcn.bn.norms.kinectv2_25.running_var' in state
    other = build(seed=1, layouts=LAYOUTS, backbone=backbone_cfg(shared=False),
                  neck=dict(model_cfg()['neck'], norm_cfg=dict(type='BN1d'),
                            per_convention_bn=True, shared_bn_affine=False))
    other.load_state_dict(state, strict=True)
    torch.manual_seed(5)
    a = model(views(42, 25, seed=3), samples(SMPLX, KINECT), mode='loss')
    torch.manual_seed(5)
    b = other(views(42, 25, seed=3), samples(SMPLX, KINECT), mode='loss')
    assert set(a) == set(b)
    for key in a:
        assert torch.equal(a[key], b[key]), key
    for key, value in model.state_dict().items():
        assert torch.equal(value, other.state_dict()[key]), key


def test_cosines_by_key_convention_in_the_log():
    model = build(layouts=LAYOUTS, backbone=backbone_cfg(),
                  neck=dict(model_cfg()['neck'], norm_cfg=dict(type='BN1d'),
                            per_convention_bn=True))
    model.init_weights()
    losses = model(views(25, 42), samples(KINECT, SMPLX), mode='loss')
    assert {'cos_pos_smplx_42', 'cos_neg_smplx_42'} <= set(losses)
    assert 'cos_pos_kinectv2_25' not in losses
    losses = model(views(42, 42), samples([KINECT, SMPLX] * 2, [SMPLX, KINECT] * 2),
                   mode='loss')
    assert {f'cos_{k}_{c}' for k in ('pos', 'neg') for c in LAYOUTS} <= set(losses)
    # the values, on logits we choose
    logits = torch.tensor([[0.9, 0.1, 0.3], [0.5, -0.2, 0.0], [0.7, 0.4, 0.6]])
    cos = model.convention_cosines(logits / model.temperature,
                                   [KINECT, SMPLX, KINECT])
    assert torch.allclose(cos['cos_pos_kinectv2_25'], torch.tensor(0.8))
    assert torch.allclose(cos['cos_neg_kinectv2_25'], torch.tensor(0.35))
    assert torch.allclose(cos['cos_pos_smplx_42'], torch.tensor(0.5))
    assert torch.allclose(cos['cos_neg_smplx_42'], torch.tensor(-0.1))
    model.log_convention_cosines = False
    assert model.convention_cosines(logits, [KINECT] * 3) == {}


# ------------------------------------------------- reference checkpoints
def cbn_encoder(path, layouts, shared):
    from mmengine.config import Config
    enc = Config.fromfile(str(ROOT / 'configs/_base_/models/aimclr_encoder.py'))
    neck = Config.fromfile(str(ROOT / 'configs/_base_/models/ms_aimclr.py'))
    backbone = MODELS.build(dict(enc.encoder, graph_cfg=dict(enc.encoder.graph_cfg,
                                                             layouts=layouts),
                                 per_convention_bn=True, shared_bn_affine=shared))
    projector = MODELS.build(neck.model.neck)
    load_checkpoint_strict(backbone, path, prefix='backbone.', logger='silent')
    load_checkpoint_strict(projector, path, prefix='neck.', logger='silent')
    return backbone.eval(), projector.eval()


@pytest.mark.parametrize('shared', [True, False])
def test_converted_reference_checkpoint_reproduces_parity(converted, shared):  # noqa: F811
    """A reference checkpoint (one BN) loads into per-convention BNs, its
    statistics in every convention: the fixtures' outputs are reproduced
    for each convention, in native, padded and mixed batches."""
    ref, path = converted['aimclr_encoder']
    backbone, projector = cbn_encoder(path, ['kinectv2_25'], shared)
    assert max(max_diffs(run(backbone, projector, ref['input'], 'kinectv2_25'),
                         ref['features'], ref['output'])) < 1e-5
    ref, path = converted['msclr_flex_encoder']
    backbone, projector = cbn_encoder(path, LAYOUTS, shared)
    bn = backbone.gcn[3].tcn.bn
    assert torch.equal(bn.norms[KINECT].running_mean, bn.norms[SMPLX].running_mean)
    convs = {'ntu-rgb+d': KINECT, 'smplx_42': SMPLX}
    for name, conv in convs.items():
        assert max(max_diffs(run(backbone, projector, ref['inputs'][name], conv),
                             ref['features'][name], ref['outputs'][name])) < 1e-5, name
    mixed = torch.cat([ref['inputs'][n][:2] for n in convs])
    got = run(backbone, projector, mixed, [c for c in convs.values() for _ in range(2)])
    assert max(max_diffs(got, torch.cat([ref['features'][n][:2] for n in convs]),
                         torch.cat([ref['outputs'][n][:2] for n in convs]))) < 1e-5


# ------------------------------------------------------------ precise BN
def precise_bn_setup(tmp_path, config):
    """A small encoder of a demo linear config with scrambled BN statistics
    (as a pretraining that mixed conventions leaves them) and a loader of 9
    synthetic training clips, batches of 4."""
    from mmengine.config import Config
    from msclr_plugin.data_prep.synthetic import generate_synthetic_store
    store = tmp_path / 'syn'
    generate_synthetic_store(str(store), num_clips_per_class_per_subject=1,
                             conventions=('kinectv2_25', 'coco'), num_subjects=4,
                             num_person=1, classes=['wave_right_hand', 'squat', 'jump'])
    cfg = Config.fromfile(
        str(ROOT / 'configs/msclr/demo' / config))
    cfg.model.backbone.update(channels=(4, 4, 8, 8), num_stages=4, down_stages=(3, ),
                              init_cfg=None)
    cfg.model.cls_head.update(num_classes=3, in_channels=8)
    loader = dict(cfg.train_dataloader, num_workers=0, persistent_workers=False,
                  batch_size=4)
    loader['dataset'] = dict(loader['dataset'], ann_file=str(store))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():
        for m in model.backbone.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.uniform_(-1, 1)
    model.eval()
    return cfg, model, loader


def check_only_bn_buffers_changed(model, params, buffers):
    after_params = dict(model.named_parameters())
    assert after_params.keys() == params.keys()
    for key, value in params.items():
        assert torch.equal(value, after_params[key]), key
    changed = [k for k, v in model.named_buffers()
               if k not in buffers or not torch.equal(v, buffers[k])]
    assert changed and all(
        k.rsplit('.', 1)[1] in ('running_mean', 'running_var', 'num_batches_tracked')
        for k in changed)


@pytest.mark.parametrize('config, out_norms', [
    ('linear_ms_aimclr_synthetic_precise_bn.py', 0),
    ('linear_ms_aimclr_synthetic_outnorm_precise_bn.py', 2)])
def test_precise_bn_changes_only_bn_buffers(tmp_path, config, out_norms):
    from msclr_plugin.evaluation.precise_bn import recalibrate_bn_per_convention
    from msclr_plugin.models.recognizers.ms_recognizer_gcn import embed
    cfg, model, loader = precise_bn_setup(tmp_path, config)
    assert cfg.precise_bn_per_convention is True
    params = {k: v.clone() for k, v in model.named_parameters()}
    x = clips(3, 17, 9)[:, :1]
    with torch.no_grad():
        before = embed(model.backbone, x, 'coco')
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    count = recalibrate_bn_per_convention(model, loader, ['kinectv2_25', 'coco'])
    # input BNs + every block BN (and the output BN) in two conventions
    assert count == 2 + 9 * 2 + out_norms
    assert not model.training and model.backbone.per_convention_bn
    check_only_bn_buffers_changed(model, params, buffers)
    bn = model.backbone.gcn[1].tcn.bn
    assert not torch.equal(bn.norms['coco'].running_mean,
                           bn.norms['kinectv2_25'].running_mean)
    # 9 training clips (subjects 1-3), 3 batches of each convention
    assert int(bn.norms['coco'].num_batches_tracked) == 3
    assert bn.norms['coco'].momentum == 0.1
    with torch.no_grad():
        assert not torch.allclose(embed(model.backbone, x, 'coco'), before)
    # an encoder with per-convention BNs keeps its layers; only statistics change
    state = {k: v.clone() for k, v in model.state_dict().items()}
    assert recalibrate_bn_per_convention(model, loader) == count
    assert model.state_dict().keys() == state.keys()
    for key, value in model.named_parameters():
        assert torch.equal(value, state[key]), key


def test_bn_input_moments_skip_padded_joints():
    """The sequential precise BN's moments of a padded batch count the real
    joints only, as MaskedBatchNorm2d's batch statistics do; (N, C) and
    (N, C, L) inputs reduce over every axis but the channels."""
    from msclr_plugin.evaluation.precise_bn import _moments
    from msclr_plugin.models.layers.masked_bn import MaskedBatchNorm2d
    torch.manual_seed(0)
    x = torch.randn(3, 4, 5, 6)
    mask = torch.ones(3, 6, dtype=torch.bool)
    mask[1, 4:] = mask[2, 3:] = False
    count, total, squares = _moments(x, mask)
    real = torch.cat([x[i, :, :, mask[i]].flatten(1) for i in range(3)], 1).double()
    assert count == real.shape[1] == 5 * (6 + 4 + 3)
    assert torch.allclose(total, real.sum(1)) and torch.allclose(squares, real.square().sum(1))
    bn = MaskedBatchNorm2d(4, momentum=1.0)
    bn(x, mask)  # training mode: the running statistics become the batch's
    mean = total / count
    var = (squares / count - mean.square()) * count / (count - 1)
    assert torch.allclose(bn.running_mean.double(), mean, atol=1e-6)
    assert torch.allclose(bn.running_var.double(), var, atol=1e-6)
    for y in (torch.randn(7, 4), torch.randn(7, 4, 9)):
        count, total, _ = _moments(y, None)
        assert count == y.numel() // 4
        assert torch.allclose(total, y.transpose(0, 1).flatten(1).sum(1).double())


def test_sequential_precise_bn_is_exact(tmp_path):
    """mode='sequential': every BN's running statistics are its input's over
    the training clips in the network evaluation runs; the output BN then
    centres each convention's pooled training features."""
    from msclr_plugin.evaluation.precise_bn import (bn_input_statistics,
                                                    recalibrate_bn_per_convention)
    cfg, model, loader = precise_bn_setup(
        tmp_path, 'linear_ms_aimclr_synthetic_outnorm_seqbn.py')
    assert cfg.precise_bn_per_convention == 'sequential'
    convs = ['kinectv2_25', 'coco']
    params = {k: v.clone() for k, v in model.named_parameters()}
    buffers = {k: v.clone() for k, v in model.named_buffers()}
    assert recalibrate_bn_per_convention(model, loader, convs, mode='sequential') == 22
    assert not model.training
    check_only_bn_buffers_changed(model, params, buffers)
    moments, feats = bn_input_statistics(model, loader, convs)
    assert len(moments) == 22
    for bn, (mean, var) in moments.items():
        assert torch.allclose(bn.running_mean.double(), mean, atol=1e-5)
        assert torch.allclose(bn.running_var.double(), var, rtol=1e-4, atol=1e-6)
    for conv in convs:
        assert feats[conv][0].mean(0).abs().max() < 1e-5
    # the usual precise BN leaves the output BN's statistics off the inputs
    # evaluation feeds it (here by far more than the tolerance above)
    recalibrate_bn_per_convention(model, loader, convs)
    moments, _ = bn_input_statistics(model, loader, convs)
    out = model.backbone.out_norm.norms['coco']
    assert (out.running_mean.double() - moments[out][0]).abs().max() > 1e-3
    with pytest.raises(ValueError, match='mode must be one of'):
        recalibrate_bn_per_convention(model, loader, convs, mode='eval')


def test_precise_bn_gap_tool(tmp_path):
    """tools/analysis/precise_bn_gap.py: after the sequential precise BN every
    BN's evaluation inputs match its statistics and the output BN centres each
    convention's pooled training features; the training-mode one does not."""
    from .conftest import load_tool
    cfg, model, loader = precise_bn_setup(
        tmp_path, 'linear_ms_aimclr_synthetic_outnorm_precise_bn.py')
    cfg.train_dataloader = loader
    cfg.dump(str(tmp_path / 'linear.py'))
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'encoder.pth')
    result = load_tool('analysis/precise_bn_gap').main(
        [str(tmp_path / 'linear.py'), str(tmp_path / 'encoder.pth'),
         '--out', str(tmp_path / 'gap.json')])
    assert len(result['sequential']['bns']) == len(result['train']['bns']) == 22
    assert max(g['offset'] for g in result['sequential']['bns'].values()) < 1e-4
    assert max(g['offset'] for g in result['train']['bns'].values()) > 1e-3
    for conv in ('kinectv2_25', 'coco'):
        assert result['sequential']['features'][conv]['mean_norm'] < 1e-4
        assert result['train']['features'][conv]['mean_norm'] > 1e-3
    assert result['train_against_sequential'].keys() == result['train']['bns'].keys()


# ------------------------------------------------------- several processes
def _sync_worker(rank):
    """One convention on rank 0, both (mixed, padded) on rank 1: SyncBN per
    convention against one process on the whole batch; DDP training with
    per-convention affine parameters idle on a rank."""
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP
    out = {}
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 4, 5, 42, generator=g) * 3 + 2
    grad_out = torch.randn(8, 4, 5, 42, generator=g)
    # rank 0: Kinect only; rank 1: both, in a mixed padded batch
    convs = [0, 0, 0, 0, 1, 0, 1, 1]
    mask = torch.zeros(8, 42, dtype=torch.bool)
    for row, conv in enumerate(convs):
        mask[row, :25 if conv == 0 else 42] = True
    for shared in (True, False, None):  # None: no affine parameters
        ref = ConventionBatchNorm(4, LAYOUTS, shared_affine=bool(shared),
                                  affine=shared is not None).train()
        synced = convert_sync_batchnorm(copy.deepcopy(ref))
        assert all(type(bn).__name__ == 'MaskedSyncBatchNorm'
                   for bn in synced.norms.values())
        rows = slice(4 * rank, 4 * rank + 4)
        x_full = x.clone().requires_grad_()
        x_half = x[rows].clone().requires_grad_()
        set_norm_conventions(ref, convs)
        y_full = ref(x_full, mask)
        (y_full * grad_out).sum().backward()
        local = convs[rows]
        set_norm_conventions(synced, local[0] if len(set(local)) == 1 else local)
        y = synced(x_half, mask[rows])
        (y * grad_out[rows]).sum().backward()
        grads = [p.grad.clone() for p in synced.parameters()]
        for grad in grads:
            dist.all_reduce(grad)  # what DDP sums
        out[shared] = [
            (y.detach(), y_full.detach()[rows]), (x_half.grad, x_full.grad[rows]),
            *[(a, b.grad) for a, b in zip(grads, ref.parameters())],
            *[(getattr(synced.norms[c], s), getattr(ref.norms[c], s))
              for c in LAYOUTS for s in ('running_mean', 'running_var')]]
    # DDP without find_unused_parameters: per-convention affine
    # parameters of a convention absent from a rank's grouped batch
    torch.manual_seed(0)
    model = build(layouts=LAYOUTS, backbone=backbone_cfg(shared=False),
                  neck=dict(model_cfg()['neck'], norm_cfg=dict(type='BN1d'),
                            per_convention_bn=True, shared_bn_affine=False))
    model = DDP(convert_sync_batchnorm(model))
    queries = [(KINECT, SMPLX)[(step + rank) % 2] for step in range(2)]
    out['model'] = ddp_steps(model, [
        (views(vq=25 if query == KINECT else 42, vk=42, seed=10 * step + rank),
         samples(query, SMPLX)) for step, query in enumerate(queries)])
    return out


@pytest.mark.dist
def test_two_processes_equal_one_with_sync_bn_per_convention(tmp_path):
    ranks = spawn_two(_sync_worker, tmp_path)
    for out in ranks:
        for shared in (True, False, None):
            for got, expected in out[shared]:
                assert torch.allclose(got, expected, atol=1e-4), shared
    # the statistics and every parameter agree over the ranks
    a, b = ranks[0]['model'], ranks[1]['model']
    for key in a:
        assert torch.allclose(a[key].float(), b[key].float(), atol=1e-6), key
