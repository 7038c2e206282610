"""MSRecognizerGCN + MSLinearHead: linear probe, routing, ensembles, loading."""
import copy

import pytest
import torch
import torch.nn.functional as F

import msclr_plugin  # noqa: F401
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.logging import MMLogger
from msclr_plugin.models.recognizers.ms_recognizer_gcn import (
    load_pretrained_backbone, masked_pool)

MMLogger.get_current_instance().setLevel('WARNING')

A, B = 'kinectv2_25', 'smplx_42'
NUM_CLASSES = 5


def model_cfg(frozen=True, **head):
    return dict(
        type='MSRecognizerGCN',
        backbone=dict(
            type='MSSTGCN',
            graph_cfg=dict(type='MultiSkeletonGraph', layouts=[A, B]),
            channels=(8, 8, 16, 16),
            num_stages=4,
            down_stages=(3, ),
            tcn_dropout=0.5,
            frozen_stages=4 if frozen else -1),
        cls_head=dict(
            type='MSLinearHead',
            num_classes=NUM_CLASSES,
            in_channels=16,
            **head),
        data_preprocessor=dict(type='BaseDataPreprocessor'))


def build(**kwargs):
    torch.manual_seed(0)
    model = MODELS.build(model_cfg(**kwargs))
    model.init_weights()
    return model


def sample(label, skeletons, name='clip'):
    ds = ActionDataSample().set_gt_label(label)
    ds.set_metainfo(dict(skeletons=skeletons, clip_name=name))
    return ds


def mixed_batch(n=4, T=20, seed=0):
    """One view 'x' whose samples alternate A and B (padded to 42 joints)."""
    g = torch.Generator().manual_seed(seed)
    convs = [A, B] * (n // 2)
    x = torch.randn(n, 2, T, 42, 3, generator=g)
    x[0::2, :, :, 25:] = 0
    samples = [sample(i % NUM_CLASSES, {'x': c}) for i, c in enumerate(convs)]
    return dict(x=x), samples


def head_keys(model):
    return sorted('cls_head.' + k for k in model.cls_head.state_dict())


def test_only_head_params_trainable():
    model = build()
    trainable = sorted(n for n, p in model.named_parameters()
                       if p.requires_grad)
    assert trainable == head_keys(model)
    assert trainable == [
        f'cls_head.fc.{c}.{p}' for c in (A, B) for p in ('bias', 'weight')
    ]


def test_linear_probe_keeps_backbone_bit_identical():
    model = build()
    before = copy.deepcopy(model.backbone.state_dict())
    head_before = copy.deepcopy(model.cls_head.state_dict())
    optim = torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=3.0,
        momentum=0.9)
    model.train()
    # Frozen encoder: every BN and dropout of the backbone in eval mode.
    stateful = [m for m in model.backbone.modules()
                if isinstance(m, (torch.nn.modules.batchnorm._BatchNorm,
                                  torch.nn.Dropout))]
    assert len(stateful) > 10 and not any(m.training for m in stateful)
    assert model.cls_head.training
    for step in range(3):
        inputs, samples = mixed_batch(seed=step)
        losses = model(inputs, samples, mode='loss')
        optim.zero_grad()
        losses['loss_cls'].backward()
        optim.step()
    # A native single-convention batch as well (the no-padding path).
    inputs = dict(x=torch.randn(3, 2, 20, 25, 3))
    losses = model(inputs, [sample(1, {'x': A})] * 3, mode='loss')
    optim.zero_grad()
    losses['loss_cls'].backward()
    optim.step()
    after = model.backbone.state_dict()
    assert before.keys() == after.keys()
    assert any('running_mean' in k for k in after)
    for key in before:
        assert torch.equal(before[key], after[key]), key
    assert not all(
        torch.equal(head_before[k], model.cls_head.state_dict()[k])
        for k in head_before)
    # No dropout in the frozen encoder: train-mode features are deterministic.
    x, s = mixed_batch(seed=9)
    f1 = model(x, s, mode='tensor')['x']
    f2 = model(x, s, mode='tensor')['x']
    assert torch.equal(f1, f2)


def fake_pretrain_checkpoint(tmp_path, backbone):
    state = {'backbone.' + k: v.clone() + 0.5 if v.is_floating_point()
             else v.clone() for k, v in backbone.state_dict().items()}
    state.update({'momentum_backbone.' + k: v.clone()
                  for k, v in backbone.state_dict().items()})
    state['neck.projector.0.weight'] = torch.randn(16, 16)
    state['momentum_neck.projector.0.weight'] = torch.randn(16, 16)
    state['queue'] = torch.randn(8, 32)
    state['queue_ptr'] = torch.zeros(1, dtype=torch.long)
    path = tmp_path / 'pretrain.pth'
    torch.save({'state_dict': state, 'meta': {}}, path)
    return path, state


def test_load_pretrained_loads_the_whole_encoder_only(tmp_path):
    model = build()
    head = copy.deepcopy(model.cls_head.state_dict())
    path, state = fake_pretrain_checkpoint(tmp_path, model.backbone)
    report = load_pretrained_backbone(model, str(path))
    assert sorted(report.loaded) == sorted(model.backbone.state_dict())
    assert {k.split('.')[0] for k in report.dropped} == {
        'momentum_backbone', 'neck', 'momentum_neck', 'queue', 'queue_ptr'}
    for key, value in model.cls_head.state_dict().items():
        assert torch.equal(value, head[key]), key
    for key, value in model.backbone.state_dict().items():
        assert torch.equal(value, state['backbone.' + key]), key


def test_pretrained_init_cfg_loads_query_encoder(tmp_path):
    model = build()
    path, state = fake_pretrain_checkpoint(tmp_path, model.backbone)
    cfg = model_cfg()
    cfg['backbone']['init_cfg'] = dict(
        type='Pretrained', checkpoint=str(path), prefix='backbone.')
    loaded = MODELS.build(cfg)
    loaded.init_weights()
    for key, value in loaded.backbone.state_dict().items():
        assert torch.equal(value, state['backbone.' + key]), key
    # Head: Normal(std=0.01) initialisation.
    weight = loaded.cls_head.fc[A].weight
    assert 0.005 < weight.std().item() < 0.02


def test_classifier_routing_keeps_gradients_apart():
    model = build()
    head = model.cls_head
    feats = torch.randn(3, 16, requires_grad=True)
    out = head(feats, [A, B, A])
    for row, conv in zip(range(3), [A, B, A]):
        assert torch.allclose(out[row], head.fc[conv](feats[row]))
    out[1].sum().backward()  # the B sample only
    assert head.fc[B].weight.grad.abs().sum() > 0
    assert head.fc[A].weight.grad is None or not head.fc[A].weight.grad.any()

    # Through the whole model: a batch of B samples never touches A.
    model.zero_grad()
    inputs = dict(x=torch.randn(2, 2, 20, 42, 3))
    losses = model(inputs, [sample(0, {'x': B}), sample(1, {'x': B})],
                   mode='loss')
    losses['loss_cls'].backward()
    assert head.fc[A].weight.grad is None or not head.fc[A].weight.grad.any()
    assert head.fc[B].weight.grad.abs().sum() > 0


def test_mixed_loss_is_mean_of_per_sample_ce():
    model = build().eval()
    inputs, samples = mixed_batch()
    feats, convs = model.extract_feat(inputs, samples)
    logits = torch.stack([
        model.cls_head.fc[c](f) for f, c in zip(feats['x'], convs['x'])
    ])
    labels = torch.tensor([s.gt_label.item() for s in samples])
    expected = F.cross_entropy(logits, labels)
    loss = model(inputs, samples, mode='loss')['loss_cls']
    assert torch.allclose(loss, expected, atol=1e-6)


def ensemble_batch(n=3):
    g = torch.Generator().manual_seed(1)
    inputs = {A: torch.randn(n, 2, 20, 25, 3, generator=g),
              B: torch.randn(n, 2, 20, 42, 3, generator=g)}
    samples = [sample(i, {A: A, B: B}, f'c{i}') for i in range(n)]
    return inputs, samples


def test_skeleton_specific_ensemble_is_mean_softmax():
    model = build().eval()
    inputs, samples = ensemble_batch()
    with torch.no_grad():
        feats, _ = model.extract_feat(inputs, samples)
        manual = (F.softmax(model.cls_head.fc[A](feats[A]), 1) +
                  F.softmax(model.cls_head.fc[B](feats[B]), 1)) / 2
        out = model(inputs, copy.deepcopy(samples), mode='predict')
    scores = torch.stack([s.pred_score for s in out])
    assert torch.allclose(scores, manual, atol=1e-6)
    assert torch.allclose(scores.sum(1), torch.ones(3), atol=1e-5)
    # the dump's raw score of an ensemble: log of the mean softmax
    raw = torch.stack([s.pred_raw_score for s in out])
    assert torch.allclose(raw, manual.log(), atol=1e-5)

    # MS-CLR code's variant: mean of raw logits.
    model = build(view_fusion='logits', average_clips='score').eval()
    with torch.no_grad():
        feats, _ = model.extract_feat(inputs, samples)
        manual = (model.cls_head.fc[A](feats[A]) +
                  model.cls_head.fc[B](feats[B])) / 2
        out = model(inputs, copy.deepcopy(samples), mode='predict')
    assert torch.allclose(torch.stack([s.pred_score for s in out]), manual,
                          atol=1e-6)


def test_test_classifier_uses_one_convention():
    model = build(test_classifier=A).eval()
    inputs = {B: torch.randn(2, 2, 20, 42, 3)}
    samples = [sample(0, {B: B}), sample(1, {B: B})]
    with torch.no_grad():
        feats, _ = model.extract_feat(inputs, samples)
        logits = model.cls_head.fc[A](feats[B])
        out = model(inputs, samples, mode='predict')
    assert torch.allclose(torch.stack([s.pred_score for s in out]),
                          F.softmax(logits, 1), atol=1e-6)
    # raw scores of one view: the classifier's logits, kept beside pred_score
    assert torch.allclose(torch.stack([s.pred_raw_score for s in out]),
                          logits, atol=1e-6)
    with pytest.raises(KeyError, match='no classifier'):
        build(test_classifier='smpl_24')


def test_masked_pool_matches_native_batch():
    model = build().eval()
    native = torch.randn(2, 2, 20, 25, 3)
    padded = torch.zeros(2, 2, 20, 42, 3)
    padded[:, :, :, :25] = native
    with torch.no_grad():
        f_native = model(dict(x=native), [sample(0, {'x': A})] * 2)['x']
        f_mixed = model(
            dict(x=padded), [sample(0, {'x': A}),
                             sample(0, {'x': B})])['x']
    assert torch.allclose(f_native[0], f_mixed[0], atol=1e-5)
    # The plain mean over 42 joints would differ: padding is excluded.
    feat = torch.ones(1, 1, 4, 2, 3)
    mask = torch.tensor([[True, True, False]])
    assert torch.allclose(masked_pool(feat * mask[:, None, None, None],
                                      mask), torch.ones(1, 4))


def test_plain_mmaction_tensor_input():
    cfg = model_cfg()
    cfg['backbone']['graph_cfg']['layouts'] = ['nturgb+d']
    model = MODELS.build(cfg).eval()
    x = torch.randn(2, 3, 2, 20, 25, 3)  # (N, num_clips, M, T, V, C)
    samples = [ActionDataSample().set_gt_label(i) for i in range(2)]
    with torch.no_grad():
        out = model(x, samples, mode='predict')
        feats = model(x, samples, mode='tensor')
        losses = model(x, samples, mode='loss')
    assert out[0].pred_score.shape == (NUM_CLASSES, )
    assert feats.shape == (6, 16)
    assert torch.isfinite(losses['loss_cls'])


def test_errors_name_the_clip():
    model = build()
    x = dict(x=torch.randn(1, 2, 20, 25, 3))
    with pytest.raises(KeyError, match="clip 'bad'|clip bad"):
        model(x, [sample(0, {'y': A}, 'bad')], mode='loss')


def test_feat_norm_standardises_features():
    """With feat_norm the classifier sees L2-normalised, standardised
    features: in training mode its logits ignore the features' scale (a
    random encoder's are ~1e-7) and a per-channel shift of the normalised
    features, and the normalisation has no parameters of its own."""
    import torch

    from mmaction.registry import MODELS
    head = MODELS.build(
        dict(type='MSLinearHead', num_classes=5, in_channels=8,
             skeletons=['coco'], feat_norm=True))
    head.init_weights()
    head.train()
    x = torch.randn(16, 8) + 3
    for scale in (1e-7, 1e3):
        torch.testing.assert_close(
            head(x, 'coco'), head(x * scale, 'coco'), atol=1e-4, rtol=1e-4)
    # a direction shared by every clip with a per-channel spread of 1e-4
    # of the norm (small pretrainings) is standardised, not flattened
    common = torch.rand(8) + 1
    tight = common + 1e-4 * torch.randn(16, 8)
    fed = head.feat_norm(torch.nn.functional.normalize(tight, dim=1))
    assert fed.std(0).min() > 0.5  # with BatchNorm1d's default eps: ~0.01
    trainable = [n for n, p in head.named_parameters() if p.requires_grad]
    assert trainable == ['fc.coco.weight', 'fc.coco.bias']
