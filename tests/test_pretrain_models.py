"""Tests of the pretraining models: MSProjectionNeck, EnergyAttentionDrop,
the losses, MSMoCo and MSAimCLR (tiny CPU encoders, synthetic skeletons)."""
import copy

import pytest
import torch
import torch.nn.functional as F

import msclr_plugin  # noqa: F401  (registers everything)
from mmengine.logging import MessageHub, MMLogger
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample

MMLogger.get_current_instance().setLevel('WARNING')

KINECT, SMPLX = 'kinectv2_25', 'smplx_42'
V = {KINECT: 25, SMPLX: 42}
T, M, N = 20, 2, 4


def model_cfg(kind='MSAimCLR', layouts=(KINECT, ), **kwargs):
    cfg = dict(
        type=kind,
        backbone=dict(
            type='MSSTGCN',
            graph_cfg=dict(type='MultiSkeletonGraph', layouts=list(layouts)),
            channels=(8, 8, 16, 16),
            num_stages=4,
            down_stages=(3, ),
            tcn_dropout=0.),
        neck=dict(
            type='MSProjectionNeck',
            in_channels=16,
            hid_channels=16,
            out_channels=8,
            init_cfg=None),
        feat_dim=8,
        queue_len=24,
        data_preprocessor=None)
    cfg.update(kwargs)
    return cfg


def build(kind='MSAimCLR', layouts=(KINECT, ), seed=0, **kwargs):
    torch.manual_seed(seed)
    return MODELS.build(model_cfg(kind, layouts, **kwargs))


def samples(query, key, n=N):
    """Data samples; ``query``/``key`` are a name or a per-sample list."""
    out = []
    for i in range(n):
        q = query[i] if isinstance(query, list) else query
        k = key[i] if isinstance(key, list) else key
        sample = ActionDataSample()
        sample.set_metainfo(
            dict(clip_name=f'clip{i}', skeletons=dict(query=q, query_extreme=q, key=k)))
        out.append(sample)
    return out


def views(vq=25, vk=25, n=N, seed=1):
    g = torch.Generator().manual_seed(seed)
    return dict(
        query=torch.randn(n, M, T, vq, 3, generator=g),
        query_extreme=torch.randn(n, M, T, vq, 3, generator=g),
        key=torch.randn(n, M, T, vk, 3, generator=g))


@pytest.fixture
def epoch():
    """Set mmengine's runtime 'epoch' (0-based) and restore it after."""
    hub = MessageHub.get_current_instance()
    old = hub.get_info('epoch', None)

    def set_epoch(value):
        hub.update_info('epoch', value)

    yield set_epoch
    hub.update_info('epoch', 0 if old is None else old)


# ------------------------------------------------------------------ neck
def test_neck_pool_ignores_padded_joints():
    neck = MODELS.build(dict(type='MSProjectionNeck', in_channels=16, out_channels=8))
    feats = torch.randn(3, M, 16, 5, 25)
    padded = F.pad(feats, (0, 17))
    mask = torch.zeros(3, 42, dtype=torch.bool)
    mask[:, :25] = True
    assert torch.allclose(neck.pool(padded, mask), feats.mean(dim=(1, 3, 4)), atol=1e-6)
    assert torch.allclose(neck(padded, mask), neck(feats), atol=1e-6)
    assert neck(feats).shape == (3, 8)
    single = MODELS.build(
        dict(type='MSProjectionNeck', in_channels=16, out_channels=8, with_mlp=False))
    assert isinstance(single.projector, torch.nn.Linear)


@pytest.mark.parametrize('with_mlp', [True, False])
def test_neck_out_norm_centres_the_embeddings(with_mlp):
    cfg = dict(type='MSProjectionNeck', in_channels=16, hid_channels=16, out_channels=8,
               with_mlp=with_mlp, init_cfg=None)
    plain = MODELS.build(cfg)
    normed = MODELS.build(dict(cfg, out_norm_cfg=dict(type='BN1d', affine=False)))
    normed.projector[0 if not with_mlp else slice(None, -1)].load_state_dict(
        plain.projector.state_dict())
    # pooled ReLU features share a large common part: the plain projector's
    # embeddings all point one way, the normalised ones do not
    feats = torch.rand(64, 16) + 2.0
    cos = lambda z: F.normalize(z, dim=1) @ F.normalize(z, dim=1).T  # noqa: E731
    off = ~torch.eye(64, dtype=torch.bool)
    z = normed(feats)
    assert cos(plain(feats))[off].mean() > 0.9
    assert cos(z)[off].mean().abs() < 0.1
    torch.testing.assert_close(z.mean(0), torch.zeros(8), atol=1e-5, rtol=0)
    # the BN alone: the projector's output standardised by batch statistics
    torch.testing.assert_close(z, F.batch_norm(plain(feats), None, None, training=True))
    assert not any('projector.%d.weight' % (len(normed.projector) - 1) in k
                   for k, _ in normed.named_parameters())  # affine=False


# ------------------------------------------------------------------ EADM
def eadm(**kwargs):
    return MODELS.build(dict(type='EnergyAttentionDrop', **kwargs))


def test_eadm_joint_drop_removes_high_attention_joints_only():
    drop = eadm(drop_elements=False)
    x = torch.randn(6, 16, 7, 25).abs() + 0.1
    x[..., [3, 10]] *= 4  # energetic joints draw the attention
    att = drop.attention(x).mean(dim=(1, 2))
    out = drop(x)
    ratio = out / x
    dropped = (ratio == 0).all(dim=(1, 2))
    assert torch.equal(dropped, att >= 0.7)
    assert dropped[:, [3, 10]].all() and not dropped.all()
    # kept joints share one rescale factor: #joints / #kept over the batch
    factor = dropped.numel() / (~dropped).sum()
    assert torch.allclose(
        ratio.permute(0, 3, 1, 2)[~dropped], factor.float().expand(1), rtol=1e-5)
    # the scale preserves the mean magnitude over the batch
    assert torch.isclose(ratio.mean(), torch.tensor(1.), atol=1e-5)


def test_eadm_element_drop_and_rescale():
    drop = eadm(drop_joints=False)
    x = torch.randn(4, 8, 9, 25).abs() + 0.1
    att = drop.attention(x)
    ratio = drop(x) / x
    assert torch.equal(ratio == 0, att >= 0.7)
    assert 0 < (att >= 0.7).float().mean() < 1
    assert torch.isclose(ratio.mean(), torch.tensor(1.), atol=1e-5)
    # SimAM attention is at least sigmoid(0.5)
    assert att.min() >= torch.sigmoid(torch.tensor(0.5)) - 1e-6


def test_eadm_masked_joints_never_selected():
    drop = eadm()
    native = torch.randn(2, M, 8, 6, 25)
    junk = 100 * torch.randn(2, M, 8, 6, 17)
    padded = torch.cat([native, junk], dim=-1)
    mask = torch.zeros(2, 42, dtype=torch.bool)
    mask[:, :25] = True
    out = drop(padded, mask)
    assert torch.allclose(out[..., :25], drop(native), atol=1e-5)
    assert torch.equal(out[..., 25:], junk)  # untouched: never dropped


def test_eadm_skips_a_stage_that_would_drop_everything():
    drop = eadm(keep_prob=0.1)  # every attention is >= 0.622
    x = torch.randn(2, 4, 5, 25)
    assert torch.equal(drop(x), x)


# ---------------------------------------------------------------- losses
def test_losses_match_their_formulas():
    logits = torch.randn(3, 6, requires_grad=True)
    target = torch.randn(3, 6, requires_grad=True)
    nce = MODELS.build(dict(type='MultiPosInfoNCELoss'))
    assert torch.isclose(nce(logits), F.cross_entropy(logits, torch.zeros(3).long()))
    mask = torch.zeros(3, 6, dtype=torch.bool)
    mask[:, 0] = True
    assert torch.isclose(nce(logits, mask), nce(logits))
    mask[0, 3] = True
    logp = F.log_softmax(logits, 1)
    expected = (-(logp[0, 0] + logp[0, 3]) / 2 - logp[1, 0] - logp[2, 0]) / 3
    assert torch.isclose(nce(logits, mask), expected)

    d3m = MODELS.build(dict(type='D3MLoss'))
    loss = d3m(logits, target)
    manual = -(F.softmax(target, 1) * torch.log(F.softmax(logits, 1))).sum(1)
    assert torch.isclose(loss, manual.mean())
    loss.backward()
    assert target.grad is None and logits.grad.abs().sum() > 0


# ------------------------------------------------------------------ MoCo
def test_key_encoder_gets_no_gradients():
    model = build('MSMoCo')
    losses = model.loss(views(), samples(KINECT, KINECT))
    losses['loss_nce'].backward()
    for name, param in model.named_parameters():
        if name.startswith('momentum_'):
            assert not param.requires_grad and param.grad is None, name
    assert any(p.grad is not None and p.grad.abs().sum() > 0
               for p in model.backbone.parameters())


def test_init_weights_copies_the_query_encoder():
    model = build('MSMoCo')
    model.init_weights()
    for a, b in zip(model.backbone.state_dict().values(),
                    model.momentum_backbone.state_dict().values()):
        assert torch.equal(a, b)


def test_momentum_update_formula():
    model = build('MSMoCo', momentum=0.9)
    with torch.no_grad():
        for param in list(model.backbone.parameters()) + list(model.neck.parameters()):
            param.add_(torch.randn_like(param))
    query = [
        p.clone()
        for p in list(model.backbone.parameters()) + list(model.neck.parameters())
    ]
    key = [p.clone() for p in model._momentum_params()]
    bn_before = model.momentum_backbone.gcn[0].tcn.bn.running_mean.clone()
    with torch.no_grad():
        model.backbone.gcn[0].tcn.bn.running_mean.add_(5)
    model.momentum_update()
    for q, k, new in zip(query, key, model._momentum_params()):
        assert not torch.equal(new, k) or torch.equal(q, k)
        assert torch.allclose(new, 0.9 * k + 0.1 * q, atol=1e-6)
    # buffers are not averaged
    assert torch.equal(model.momentum_backbone.gcn[0].tcn.bn.running_mean, bn_before)


def test_queue_holds_the_keys_and_pointer_wraps():
    model = build('MSMoCo', queue_len=10)
    assert torch.allclose(model.queue.norm(dim=0), torch.ones(10))
    data, meta = views(), samples(KINECT, KINECT)
    reference = copy.deepcopy(model)
    model.loss(data, meta)
    with torch.no_grad():
        reference.momentum_update()
        keys = reference.encode_key(data['key'], [KINECT] * N)
    assert torch.allclose(model.queue[:, :N].T, keys, atol=1e-6)
    assert int(model.queue_ptr) == N
    model.loss(data, meta)
    before = model.queue.clone()
    new = F.normalize(torch.randn(N, 8), dim=1)
    model.enqueue(new)  # ptr 8 -> columns 8, 9, 0, 1
    assert int(model.queue_ptr) == 2
    assert torch.equal(model.queue[:, [8, 9, 0, 1]].T, new)
    assert torch.equal(model.queue[:, 2:8], before[:, 2:8])
    many = F.normalize(torch.randn(13, 8), dim=1)  # more than queue_len
    model.enqueue(many)  # as if written one by one from column 2
    assert int(model.queue_ptr) == (2 + 13) % 10
    assert torch.equal(model.queue[:, 4], many[-1])
    assert torch.equal(model.queue[:, 5], many[3])


def test_state_dict_round_trip():
    model = build('MSMoCo')
    model.loss(views(), samples(KINECT, KINECT))
    state = model.state_dict()
    assert {'queue', 'queue_ptr'} <= set(state)
    assert any(k.startswith('momentum_backbone.') for k in state)
    assert any(k.startswith('momentum_neck.') for k in state)
    other = build('MSMoCo', seed=1)
    assert not torch.equal(other.queue, model.queue)
    other.load_state_dict(state)
    for key, value in other.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert int(other.queue_ptr) == N


def test_forward_modes():
    model = build('MSMoCo', layouts=(KINECT, SMPLX))
    data = views(vk=42)
    feats = model(data, samples(KINECT, SMPLX), mode='tensor')
    assert feats.shape == (N, 16)
    # eval-style inputs: views named after their convention
    assert model({SMPLX: data['key']}, mode='tensor').shape == (N, 16)
    with pytest.raises(NotImplementedError, match='tensor'):
        model(data, samples(KINECT, SMPLX), mode='predict')
    with pytest.raises(KeyError, match="'key'"):
        model.loss({'query': data['query']}, samples(KINECT, SMPLX))


def test_shuffle_bn_is_a_warned_no_op_in_one_process():
    model = build('MSMoCo', shuffle_bn=True)
    plain = build('MSMoCo')
    with pytest.warns(UserWarning, match='shuffle_bn'):
        a = model.loss(views(), samples(KINECT, KINECT))
    b = plain.loss(views(), samples(KINECT, KINECT))
    assert torch.allclose(a['loss_nce'], b['loss_nce'])


# ---------------------------------------------------------------- AimCLR
def check_losses(losses):
    for key in ('loss_nce', 'loss_d3m', 'd3m_extreme', 'd3m_extreme_drop'):
        assert torch.isfinite(losses[key]), key
    assert torch.isclose(losses['loss_d3m'],
                         (losses['d3m_extreme'] + losses['d3m_extreme_drop']) / 2)


def test_aimclr_one_convention_and_nce_equals_moco():
    aimclr = build('MSAimCLR')
    moco = build('MSMoCo')
    moco.load_state_dict(aimclr.state_dict())
    data, meta = views(), samples(KINECT, KINECT)
    losses = aimclr.loss(data, meta)
    check_losses(losses)
    assert torch.isclose(
        losses['loss_nce'], moco.loss(data, meta)['loss_nce'], atol=1e-6)
    (losses['loss_nce'] + losses['loss_d3m']).backward()
    assert torch.equal(aimclr.queue, moco.queue)


def test_aimclr_two_native_conventions():
    model = build('MSAimCLR', layouts=(KINECT, SMPLX))
    losses = model.loss(views(vk=42), samples(KINECT, SMPLX))
    check_losses(losses)
    (losses['loss_nce'] + losses['loss_d3m']).backward()
    # both conventions' input BNs got gradients (key side has none)
    assert model.backbone.data_bn[KINECT].weight.grad is not None
    assert model.momentum_backbone.data_bn[SMPLX].weight.grad is None


def test_aimclr_mixed_padded_batch_ignores_padding():
    model = build('MSAimCLR', layouts=(KINECT, SMPLX))
    conv_q = [KINECT, SMPLX, KINECT, SMPLX]
    conv_k = [SMPLX, KINECT, KINECT, SMPLX]
    data = views(vq=42, vk=42)
    for view, convs in (('query', conv_q), ('query_extreme', conv_q), ('key', conv_k)):
        for i, conv in enumerate(convs):
            data[view][i, :, :, V[conv]:] = 0
    perturbed = {k: v.clone() for k, v in data.items()}
    for view, convs in (('query', conv_q), ('query_extreme', conv_q), ('key', conv_k)):
        for i, conv in enumerate(convs):
            perturbed[view][i, :, :, V[conv]:] = 50.
    meta = samples(conv_q, conv_k)
    a = copy.deepcopy(model).loss(data, meta)
    b = copy.deepcopy(model).loss(perturbed, meta)
    check_losses(a)
    for key in ('loss_nce', 'loss_d3m'):
        assert torch.allclose(a[key], b[key], atol=1e-6), key


def test_padding_a_uniform_batch_matches_the_native_batch():
    model = build('MSAimCLR', layouts=(KINECT, SMPLX))
    data = views(vk=42)
    padded = dict(data)
    padded['query'] = F.pad(data['query'], (0, 0, 0, 17))
    padded['query_extreme'] = F.pad(data['query_extreme'], (0, 0, 0, 17))
    meta = samples(KINECT, SMPLX)
    a = copy.deepcopy(model).loss(data, meta)
    b = copy.deepcopy(model).loss(padded, meta)
    for key in ('loss_nce', 'loss_d3m'):
        assert torch.allclose(a[key], b[key], atol=1e-5), key


def test_d3m_gradient_does_not_reach_the_normal_query():
    model = build('MSAimCLR')
    data = views()
    for value in data.values():
        value.requires_grad_(True)
    losses = model.loss(data, samples(KINECT, KINECT))
    losses['loss_d3m'].backward()
    assert data['query'].grad is None
    assert data['key'].grad is None
    assert data['query_extreme'].grad.abs().sum() > 0


def test_mining_switches_on_after_mining_epoch(epoch):
    model = build('MSAimCLR', mining_epoch=3)
    epoch(2)  # AimCLR epoch 3
    assert not model.mining()
    epoch(3)  # AimCLR epoch 4
    assert model.mining()


def test_mining_positives_are_queue_neighbours(epoch):
    model = build('MSAimCLR', mining_epoch=3)
    data, meta = views(), samples(KINECT, KINECT)
    with torch.no_grad():
        q = copy.deepcopy(model).encode_query(data['query'], [KINECT] * N)
    duplicate_cols = torch.tensor([3, 7, 11, 19])
    model.queue[:, duplicate_cols] = q.T  # exact copies of each query

    calls = []
    forward = model.loss_nce.forward

    def record(logits, pos_mask=None):
        calls.append((logits.detach(), pos_mask))
        return forward(logits, pos_mask)

    model.loss_nce.forward = record
    plain = copy.deepcopy(model)
    epoch(2)
    before = plain.loss(data, meta)
    assert calls[-1][1] is None and 'num_positives' not in before
    epoch(3)
    after = model.loss(data, meta)
    logits, mask = calls[-1]
    assert mask is not None and mask[:, 0].all()
    assert mask[torch.arange(N), duplicate_cols + 1].all()
    assert ((mask.sum(1) >= 2) & (mask.sum(1) <= 4)).all()
    assert torch.isclose(after['num_positives'], mask.sum(1).float().mean())
    logp = F.log_softmax(logits, 1)
    expected = (-(logp * mask).sum(1) / mask.sum(1)).mean()
    assert torch.isclose(after['loss_nce'], expected)
    # the duplicate (similarity 1) is a positive now: the loss drops
    assert after['loss_nce'] < before['loss_nce']
    assert torch.allclose(after['loss_d3m'], before['loss_d3m'], atol=1e-6)


def _mining_mask(model, data, meta):
    """The positive mask of one mining step of ``model.loss``."""
    masks = []
    forward = model.loss_nce.forward

    def record(logits, pos_mask=None):
        masks.append(pos_mask)
        return forward(logits, pos_mask)

    model.loss_nce.forward = record
    model.loss(data, meta)
    return masks[-1]


def test_other_convention_mining(epoch):
    """mining_scope='other_convention': a query mines only queue entries
    whose key was in another convention; the queue keeps the conventions."""
    layouts = (KINECT, SMPLX)
    scoped = build('MSAimCLR', layouts=layouts, mining_epoch=3,
                   mining_scope='other_convention')
    plain = build('MSAimCLR', layouts=layouts, mining_epoch=3)
    assert not hasattr(plain, 'queue_convention')  # the paper's state dict
    assert torch.equal(scoped.queue_convention, torch.full((24, ), -1))
    data, meta = views(vk=V[SMPLX]), samples(KINECT, SMPLX)
    with torch.no_grad():
        q = copy.deepcopy(scoped).encode_query(data['query'], [KINECT] * N)
    same, other = torch.tensor([5, 9, 13, 17]), torch.tensor([6, 10, 14, 18])
    noise = torch.randn(q.shape, generator=torch.Generator().manual_seed(3))
    near = F.normalize(q + 0.3 * noise, dim=1)
    for model in (scoped, plain):
        model.queue[:, same] = q.T  # copies of each query, written by Kinect keys
        model.queue[:, other] = near.T  # near copies, written by SMPL-X keys
    scoped.queue_convention[same] = 0
    scoped.queue_convention[other] = 1
    epoch(3)
    unlabelled = copy.deepcopy(scoped)
    unlabelled.queue_convention[other] = -1
    mask = _mining_mask(scoped, data, meta)
    mined = mask[:, 1:]
    assert mask[:, 0].all() and not mined[:, same].any()
    assert mined[:, other].any(1).all()  # each query found a near copy
    assert set(mined.nonzero()[:, 1].tolist()) <= set(other.tolist())
    # AimCLR's mining takes the exact copies of its own convention
    assert _mining_mask(plain, data, meta)[torch.arange(N), same + 1].all()
    # no entry of another convention (the rest never written): the key only
    assert _mining_mask(unlabelled, data, meta)[:, 1:].sum() == 0
    # the step's SMPL-X keys went into columns 0-3, labelled with index 1
    assert torch.equal(scoped.queue_convention[:N], torch.ones(N, dtype=torch.long))
    assert int(scoped.queue_convention[other[0]]) == 1
    for kwargs in (dict(layouts=(KINECT, )), dict(layouts=layouts, symmetric=True)):
        with pytest.raises(ValueError, match='two or more conventions'):
            build('MSAimCLR', mining_scope='other_convention', **kwargs)
    with pytest.raises(ValueError, match='mining_scope must be one of'):
        build('MSAimCLR', layouts=layouts, mining_scope='own')


@pytest.mark.parametrize('kind', ['MSMoCo', 'MSAimCLR'])
def test_symmetric_loss_is_the_mean_of_both_directions(kind):
    """symmetric: loss_nce = (NCE(query view -> key view) + NCE(key view ->
    query view)) / 2 over the same queue snapshot; the rest of the step is
    the plain model's (only the key view's keys are queued, D3M unchanged)."""
    plain = build(kind, layouts=(KINECT, SMPLX))
    sym = build(kind, layouts=(KINECT, SMPLX), symmetric=True)
    sym.load_state_dict(plain.state_dict())
    data, meta = views(vk=42), samples(KINECT, SMPLX)
    mirrored = dict(data, query=data['key'], key=data['query'],
                    query_extreme=data['key'])
    ref = copy.deepcopy(plain)
    forward = ref.loss(data, meta)['loss_nce']
    backward = copy.deepcopy(plain).loss(mirrored, samples(SMPLX, KINECT))['loss_nce']
    losses = sym.loss(data, meta)
    assert torch.isclose(losses['loss_nce'], (forward + backward) / 2, atol=1e-6)
    assert not torch.isclose(losses['loss_nce'], forward)
    assert torch.equal(sym.queue, ref.queue)
    assert torch.equal(sym.queue_ptr, ref.queue_ptr)
    if kind == 'MSAimCLR':
        plain_d3m = copy.deepcopy(plain).loss(data, meta)['loss_d3m']
        assert torch.isclose(losses['loss_d3m'], plain_d3m, atol=1e-6)
    losses['loss_nce'].backward()
    # the key view now reaches the query encoder: both input BNs learn
    for conv in (KINECT, SMPLX):
        assert sym.backbone.data_bn[conv].weight.grad.abs().sum() > 0, conv


def test_symmetric_mining_uses_the_mirrored_queries_neighbours(epoch):
    model = build('MSAimCLR', mining_epoch=3, symmetric=True)
    data, meta = views(), samples(KINECT, KINECT)
    with torch.no_grad():
        k_side = copy.deepcopy(model).encode_query(data['key'], [KINECT] * N)
    model.queue[:, torch.tensor([2, 5, 13, 21])] = k_side.T  # copies of the mirrored queries
    epoch(2)
    before = copy.deepcopy(model).loss(data, meta)['loss_nce']
    epoch(3)
    after = model.loss(data, meta)['loss_nce']
    # the mirrored queries' exact copies become positives: the loss drops
    assert after < before


def test_crossclr_refuses_symmetric():
    with pytest.raises(ValueError, match='symmetric'):
        MODELS.build(dict(model_cfg('MSCrosSCLR'), symmetric=True))
    with pytest.raises(ValueError, match='extra_key_view'):
        MODELS.build(dict(model_cfg('MSCrosSCLR'), extra_key_view='key_same'))


@pytest.mark.parametrize('kind', ['MSMoCo', 'MSAimCLR'])
def test_extra_key_is_a_second_positive(kind, epoch):
    """extra_key_view: loss_nce = (NCE(query -> key) + NCE(query -> extra
    key)) / 2 over the same queue snapshot (the same mined positives); the
    queue gets the key view's keys only, D3M is unchanged."""
    plain = build(kind, layouts=(KINECT, SMPLX), mining_epoch=1) if kind == 'MSAimCLR' \
        else build(kind, layouts=(KINECT, SMPLX))
    two = copy.deepcopy(plain)
    two.extra_key_view = 'key_same'
    data = views(vk=42)
    data['key_same'] = torch.randn(N, M, T, 25, 3, generator=torch.Generator().manual_seed(7))
    meta = samples(KINECT, SMPLX)
    for sample in meta:
        sample.set_metainfo(dict(skeletons=dict(sample.skeletons, key_same=KINECT)))
    for e in ((0, 1) if kind == 'MSAimCLR' else (0, )):  # without / with mining
        epoch(e)
        ref = copy.deepcopy(plain)
        ref_losses = ref.loss(data, meta)
        model = copy.deepcopy(two)
        losses = model.loss(data, meta)
        assert not torch.isclose(losses['loss_nce'], ref_losses['loss_nce'])
        if e == 0:
            # the second term alone: the extra view as the key, same queue
            second = copy.deepcopy(plain).loss(dict(data, key=data['key_same']),
                                               samples(KINECT, KINECT))['loss_nce']
            assert torch.isclose(losses['loss_nce'],
                                 (ref_losses['loss_nce'] + second) / 2, atol=1e-6)
            weighted = copy.deepcopy(two)
            weighted.extra_key_weight = 0.25
            assert torch.isclose(weighted.loss(data, meta)['loss_nce'],
                                 (ref_losses['loss_nce'] + 0.25 * second) / 1.25, atol=1e-6)
        assert torch.equal(model.queue, ref.queue)
        if kind == 'MSAimCLR':
            assert torch.isclose(losses['loss_d3m'], ref_losses['loss_d3m'], atol=1e-6)
    with pytest.raises(KeyError, match='key_same'):
        copy.deepcopy(two).loss(views(vk=42), samples(KINECT, SMPLX))


@pytest.mark.parametrize('kind', ['MSMoCo', 'MSAimCLR'])
def test_convention_confusion_terms_and_their_gradients(kind):
    """confusion_weight: the classifier learns the convention from detached
    pooled features of query and key (loss_convention); the encoder gets
    w * (CE(uniform, p) - ln S) through a frozen classifier
    (loss_confusion); every other term is the plain model's."""
    w = 0.5
    plain = build(kind, layouts=(KINECT, SMPLX))
    conf = build(kind, layouts=(KINECT, SMPLX), confusion_weight=w)
    missing = conf.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert sorted(missing) == ['convention_classifier.bias', 'convention_classifier.weight']
    data, meta = views(vk=42), samples(KINECT, SMPLX)
    ref = copy.deepcopy(conf)
    ref_losses = copy.deepcopy(plain).loss(data, meta)
    losses = conf.loss(data, meta)
    for name, value in ref_losses.items():  # the step is otherwise the plain one
        assert torch.allclose(losses[name], value, atol=1e-6), name
    with torch.no_grad():
        pooled_q = ref.encode_query_pooled(data['query'], [KINECT] * N)[0]
        ref.momentum_update()
        pooled_k = ref.encode_key_pooled(data['key'], [SMPLX] * N)[0]
        both = torch.cat([pooled_q, pooled_k])
        logits = ref.convention_classifier((both - both.mean(0)) / both.std(0))
    labels = torch.tensor([0] * N + [1] * N)
    assert torch.isclose(losses['loss_convention'], F.cross_entropy(logits, labels),
                         atol=1e-6)
    expected = w * (-F.log_softmax(logits[:N], 1).mean(1).mean() - torch.log(torch.tensor(2.)))
    assert torch.isclose(losses['loss_confusion'], expected, atol=1e-6)
    assert losses['loss_confusion'] > 0
    assert torch.isclose(losses['convention_top1'],
                         (logits.argmax(1) == labels).float().mean())
    # loss_convention trains the classifier only, loss_confusion the encoder only
    losses['loss_convention'].backward(retain_graph=True)
    assert conf.convention_classifier.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in conf.backbone.parameters())
    conf.zero_grad(set_to_none=True)
    losses['loss_confusion'].backward()
    assert conf.convention_classifier.weight.grad is None
    assert conf.backbone.data_bn[KINECT].weight.grad.abs().sum() > 0
    # a classifier that cannot tell: no confusion left
    with torch.no_grad():
        conf.convention_classifier.weight.zero_()
        conf.convention_classifier.bias.zero_()
    assert abs(float(conf.loss(data, meta)['loss_confusion'].detach())) < 1e-6


def test_convention_confusion_refusals():
    with pytest.raises(ValueError, match='two or more conventions'):
        build('MSAimCLR', confusion_weight=0.1)
    with pytest.raises(ValueError, match='confusion_weight'):
        MODELS.build(dict(model_cfg('MSCrosSCLR', layouts=(KINECT, SMPLX)),
                          confusion_weight=0.1))


# ------------------------------------------------------- two processes
def _dist_worker(rank, world, port, out_dir):
    import torch.distributed as dist
    torch.set_num_threads(1)
    dist.init_process_group(
        'gloo', init_method=f'tcp://127.0.0.1:{port}', rank=rank, world_size=world)
    try:
        model = build('MSMoCo', layouts=(KINECT, SMPLX), shuffle_bn=True,
                      confusion_weight=0.5)
        key_conv = (KINECT, SMPLX)[rank]  # joint counts differ across ranks
        data = views(vk=V[key_conv], seed=10 + rank)
        meta = samples(KINECT, key_conv)
        model.eval()  # BN on running stats: keys must not depend on batch
        with torch.no_grad():
            shuffled_pooled, shuffled = model.encode_key_pooled(data['key'],
                                                                [key_conv] * N)
            model.shuffle_bn = False
            plain_pooled, plain = model.encode_key_pooled(data['key'], [key_conv] * N)
        model.shuffle_bn = True
        model.train()
        with torch.no_grad():  # batch statistics now see the other rank
            mixed = model.encode_key(data['key'], [key_conv] * N)
            model.shuffle_bn = False
            local = model.encode_key(data['key'], [key_conv] * N)
            model.shuffle_bn = True
        losses = model.loss(data, meta)
        # the queue's conventions are gathered as its keys are
        scoped = build('MSAimCLR', layouts=(KINECT, SMPLX), mining_scope='other_convention')
        scoped.loss(data, meta)
        torch.save(
            dict(
                queue_convention=scoped.queue_convention,
                shuffled=shuffled,
                plain=plain,
                shuffled_pooled=shuffled_pooled,
                plain_pooled=plain_pooled,
                confusion=losses['loss_confusion'].detach(),
                mixed=mixed,
                local=local,
                queue=model.queue,
                ptr=model.queue_ptr), f'{out_dir}/rank{rank}.pt')
    finally:
        dist.destroy_process_group()


@pytest.mark.dist
def test_two_processes_shuffle_bn_and_gathered_enqueue(tmp_path):
    import socket
    import torch.multiprocessing as mp
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    mp.spawn(_dist_worker, args=(2, port, str(tmp_path)), nprocs=2)
    r0, r1 = (torch.load(tmp_path / f'rank{r}.pt') for r in range(2))
    for result in (r0, r1):
        # shuffling across ranks (with padding to 42 joints) then
        # unshuffling returns every rank its own keys
        assert torch.allclose(result['shuffled'], result['plain'], atol=1e-5)
        # the pooled features (convention_confusion's) travel back the same way
        assert torch.allclose(result['shuffled_pooled'], result['plain_pooled'], atol=1e-5)
        assert torch.isfinite(result['confusion'])
        assert not torch.allclose(result['mixed'], result['local'], atol=1e-3)
        assert int(result['ptr']) == 2 * N  # keys of both ranks
        assert result['queue_convention'].tolist() == [0] * N + [1] * N + [-1] * (24 - 2 * N)
    assert torch.equal(r0['queue'], r1['queue'])
