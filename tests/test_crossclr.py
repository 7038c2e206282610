"""MSCrosSCLR: one MoCo per stream, cross-stream mining (tiny CPU encoders)."""
import copy

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from mmaction.registry import MODELS
from msclr_plugin.models.data_preprocessors.multi_skeleton_data_preprocessor import (
    skeleton_stream)
from .conftest import ROOT
from .test_pretrain_models import epoch  # noqa: F401  (fixture)
from .test_pretrain_models import KINECT, N, SMPLX, model_cfg, samples, views

THREE = ('joint', 'motion', 'bone')
QUEUE = 24  # model_cfg's queue_len


def build(seed=0, **kwargs):
    torch.manual_seed(seed)
    return MODELS.build(model_cfg('MSCrosSCLR', layouts=(KINECT, SMPLX), **kwargs))


def batch():
    """Kinect v2 queries, SMPL-X keys (the MS-CLR pairing)."""
    return views(vk=42), samples(KINECT, SMPLX)


def to_stream(data, stream):
    """The query and key views of a joint batch in ``stream``."""
    return dict(
        query=skeleton_stream(data['query'], stream, [KINECT] * N),
        key=skeleton_stream(data['key'], stream, [SMPLX] * N))


def record_nce(model):
    """Record ``(logits, pos_mask)`` of every stream's InfoNCE call."""
    calls = {name: [] for name in model.streams}
    for name, moco in model.streams.items():
        forward = moco.loss_nce.forward

        def record(logits, pos_mask=None, forward=forward, name=name):
            calls[name].append((logits.detach(), pos_mask))
            return forward(logits, pos_mask)

        moco.loss_nce.forward = record
    return calls


def queries(model, data):
    """Each stream's normalised queries, computed on a copy of ``model``."""
    reference = copy.deepcopy(model)
    with torch.no_grad():
        return {
            name: moco.encode_query(to_stream(data, name)['query'], [KINECT] * N)
            for name, moco in reference.streams.items()
        }


def top_k_mask(sims, k):
    return torch.zeros_like(sims, dtype=torch.bool).scatter_(
        1, sims.topk(k, dim=1).indices, True)


def test_key_encoders_get_no_gradients():
    model = build(streams=THREE)
    losses = model.loss(*batch())
    assert {k for k in losses if 'loss' in k} == {f'loss_{s}' for s in THREE}
    sum(losses[f'loss_{s}'] for s in THREE).backward()
    for name, param in model.named_parameters():
        if '.momentum_' in name:
            assert not param.requires_grad and param.grad is None, name
    for stream in THREE:
        assert any(p.grad is not None and p.grad.abs().sum() > 0
                   for p in model.streams[stream].backbone.parameters()), stream


def test_init_weights_copies_each_query_encoder():
    model = build(init_cfg=dict(type='Normal', layer=['Conv2d', 'Linear'], std=0.02))
    model.init_weights()
    for moco in model.streams.values():
        for a, b in zip(moco.backbone.state_dict().values(),
                        moco.momentum_backbone.state_dict().values()):
            assert torch.equal(a, b)
        for a, b in zip(moco.neck.state_dict().values(),
                        moco.momentum_neck.state_dict().values()):
            assert torch.equal(a, b)
    assert not torch.equal(model.streams.joint.backbone.gcn[1].gcn.conv.weight,
                           model.streams.motion.backbone.gcn[1].gcn.conv.weight)


def test_each_stream_has_its_own_queue():
    model = build(streams=THREE)
    reference = copy.deepcopy(model)
    data, meta = batch()
    model.loss(data, meta)
    keys = {}
    for stream in THREE:
        moco, ref = model.streams[stream], reference.streams[stream]
        ref.momentum_update()
        keys[stream] = ref.encode_key(to_stream(data, stream)['key'], [SMPLX] * N)
        assert torch.allclose(moco.queue[:, :N].T, keys[stream], atol=1e-6), stream
        assert torch.equal(moco.queue[:, N:], ref.queue[:, N:])
        assert int(moco.queue_ptr) == N
    assert len({model.streams[s].queue.data_ptr() for s in THREE}) == 3
    assert not torch.allclose(keys['joint'], keys['motion'], atol=1e-3)
    assert not torch.allclose(keys['joint'], keys['bone'], atol=1e-3)


def test_before_mining_each_stream_is_moco(epoch):  # noqa: F811
    model = build(streams=THREE, mining_epoch=2)
    data, meta = batch()
    mocos = {}
    for stream in THREE:
        mocos[stream] = MODELS.build(model_cfg('MSMoCo', layouts=(KINECT, SMPLX)))
        mocos[stream].load_state_dict(model.streams[stream].state_dict())
    epoch(1)  # 1-based epoch 2: the last without mining
    losses = model.loss(data, meta)
    assert not any(k.startswith('num_positives') for k in losses)
    for stream in THREE:
        expected = mocos[stream].loss(to_stream(data, stream), meta)
        assert torch.isclose(losses[f'loss_{stream}'], expected['loss_nce'],
                             atol=1e-6), stream
        assert torch.equal(losses[f'nce_top1_{stream}'], expected['nce_top1'])
        assert torch.equal(model.streams[stream].queue, mocos[stream].queue)


@pytest.mark.parametrize('context', [True, False])
def test_mined_positives_are_the_other_streams_top_k(epoch, context):  # noqa: F811
    model = build(mining_epoch=2, topk=2, context=context)
    data, meta = batch()
    q = queries(model, data)
    # Each query's exact copy in its own stream's queue, in columns that
    # differ between the streams: a stream's own top-1 is never mined for it.
    own = dict(joint=torch.tensor([1, 5, 9, 13]), motion=torch.tensor([3, 7, 11, 15]))
    for stream, cols in own.items():
        model.streams[stream].queue[:, cols] = q[stream].T
    sims = {s: q[s] @ model.streams[s].queue for s in own}
    calls = record_nce(model)
    epoch(2)
    losses = model.loss(data, meta)
    rows = torch.arange(N)
    for stream, other in (('joint', 'motion'), ('motion', 'joint')):
        (logits, mask), = calls[stream]
        assert logits.shape == (N, 1 + QUEUE * (2 if context else 1))
        assert mask[:, 0].all()
        assert torch.equal(mask[:, 1:QUEUE + 1], top_k_mask(sims[other], 2))
        assert mask[rows, own[other] + 1].all()
        assert not mask[rows, own[stream] + 1].any()
        if context:
            assert torch.equal(mask[:, QUEUE + 1:], mask[:, 1:QUEUE + 1])
            assert torch.allclose(logits[:, QUEUE + 1:],
                                  sims[stream] * sims[other] / 0.07, atol=1e-4)
        logp = F.log_softmax(logits, 1)
        expected = (-(logp * mask).sum(1) / mask.sum(1)).mean()
        assert torch.isclose(losses[f'loss_{stream}'], expected)
        assert losses[f'num_positives_{stream}'] == 3  # the key and top-2


def test_three_streams_average_the_pairwise_losses(epoch):  # noqa: F811
    model = build(streams=THREE, mining_epoch=1, context=False)
    data, meta = batch()
    q = queries(model, data)
    sims = {s: q[s] @ model.streams[s].queue for s in THREE}
    calls = record_nce(model)
    epoch(1)
    losses = model.loss(data, meta)
    for stream in THREE:
        others = [s for s in THREE if s != stream]
        pair_losses = []
        for (logits, mask), other in zip(calls[stream], others):
            assert torch.equal(mask[:, 1:], top_k_mask(sims[other], 1))
            logp = F.log_softmax(logits, 1)
            pair_losses.append((-(logp * mask).sum(1) / mask.sum(1)).mean())
        assert len(calls[stream]) == 2
        assert torch.isclose(losses[f'loss_{stream}'], sum(pair_losses) / 2)
        union = top_k_mask(sims[others[0]], 1) | top_k_mask(sims[others[1]], 1)
        assert torch.isclose(losses[f'num_positives_{stream}'],
                             1 + union.sum(1).float().mean())


def test_state_dict_round_trip():
    model = build()
    model.loss(*batch())
    state = model.state_dict()
    for stream in ('joint', 'motion'):
        assert {f'streams.{stream}.queue', f'streams.{stream}.queue_ptr'} <= set(state)
        assert any(k.startswith(f'streams.{stream}.momentum_backbone.') for k in state)
    other = build(seed=1)
    assert not torch.equal(other.streams.joint.queue, model.streams.joint.queue)
    other.load_state_dict(state)
    for key, value in other.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert int(other.streams.motion.queue_ptr) == N


def test_train_step_one_iteration():
    model = build(data_preprocessor=dict(type='MultiSkeletonDataPreprocessor'))
    stacked, meta = batch()
    data = dict(inputs={v: list(x) for v, x in stacked.items()}, data_samples=meta)
    optim = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.1))
    before = copy.deepcopy(model.state_dict())
    log = model.train_step(data, optim)
    assert torch.isclose(log['loss'], log['loss_joint'] + log['loss_motion'])
    assert {'nce_top1_joint', 'nce_top1_motion'} <= set(log)
    after = model.state_dict()
    for stream in ('joint', 'motion'):
        weight = f'streams.{stream}.backbone.gcn.0.gcn.conv.weight'
        assert not torch.equal(after[weight], before[weight]), stream
        assert int(after[f'streams.{stream}.queue_ptr']) == N


def test_features_per_stream_and_concatenated():
    model = build()
    data, meta = batch()
    feats = model(data, meta, mode='tensor')
    assert feats.shape == (N, 32)
    motion = model.extract_feat(data, meta, stream='motion')
    expected = model.streams.motion.extract_feat(to_stream(data, 'motion'), meta)
    assert torch.allclose(motion, expected, atol=1e-6)
    assert torch.allclose(feats[:, 16:], motion, atol=1e-6)
    assert model.backbone is model.streams.joint.backbone
    assert not hasattr(build(streams=('motion', 'bone')), 'backbone')


def test_invalid_streams_and_preprocessor_raise():
    with pytest.raises(ValueError, match='streams'):
        build(streams=('joint', ))
    with pytest.raises(ValueError, match='streams'):
        build(streams=('joint', 'joint'))
    with pytest.raises(ValueError, match="stream='joint'"):
        build(data_preprocessor=dict(type='MultiSkeletonDataPreprocessor',
                                     stream='motion'))


def test_linear_probe_prefix_loads_the_joint_encoder(tmp_path):
    model = build()
    path = tmp_path / 'crossclr.pth'
    torch.save(dict(state_dict=model.state_dict()), path)
    probe_cfg = Config.fromfile(
        str(ROOT / 'configs/msclr/linear/linear_ms_crossclr_msr3d_xsub.py')).model
    backbone = model_cfg(layouts=(KINECT, SMPLX))['backbone']
    backbone['init_cfg'] = dict(probe_cfg.backbone.init_cfg, checkpoint=str(path))
    probe = MODELS.build(
        dict(type='MSRecognizerGCN', backbone=backbone,
             cls_head=dict(type='MSLinearHead', num_classes=3, in_channels=16),
             data_preprocessor=dict(type='BaseDataPreprocessor')))
    probe.init_weights()
    for key, value in probe.backbone.state_dict().items():
        assert torch.equal(value, model.streams.joint.backbone.state_dict()[key]), key
    assert not torch.equal(probe.backbone.gcn[0].gcn.conv.weight,
                           model.streams.motion.backbone.gcn[0].gcn.conv.weight)
