"""One AimCLR training step of MSAimCLR against an independent
re-computation from the reference code's equations (Levigty/AimCLR:
net/aimclr.py, net/st_gcn.py, net/att_drop.py at d12da71,
processor/pretrain_aimclr.py), written here as plain tensor functions over
the reference's own parameter names.

Same weights (the parity fixture's AimCLR encoder_q, converted for our
model; a perturbed copy as the key encoder so that the momentum update
matters), same inputs (normal query, extreme query, key), same queue and the
same dropout masks (ours are recorded and replayed in the re-computation:
nine per encoder pass, blocks 1-9, as the reference's block 0 has none). In
float64, train mode (batch statistics), with and without nearest-neighbour
mining: the losses, the keys, the queue after the step and the gradients of
every query-encoder parameter agree within 1e-5 (measured: ~1e-9 or less).
"""
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import MessageHub

from mmaction.registry import MODELS
from msclr_plugin.models.checkpoint_convert import convert_reference
from msclr_plugin.models.layers import dropout as ms_dropout
from .conftest import ROOT, SHARED

FIXTURE = SHARED / 'reference' / 'parity' / 'aimclr_encoder.pt'
TOL = 1e-5
MOMENTUM, TEMPERATURE, KEEP_PROB, QUEUE = 0.999, 0.07, 0.7, 64
# the reference ST-GCN: (stride, residual) per block; 'conv' = 1x1 conv + BN
STRIDES = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)


# ------------------------------------------------- the reference, re-computed
def _bn(x, p, name, buffers):
    return F.batch_norm(x, buffers[f'{name}.running_mean'],
                        buffers[f'{name}.running_var'], p[f'{name}.weight'],
                        p[f'{name}.bias'], training=True, momentum=0.1, eps=1e-5)


def _conv(x, p, name, stride=1, padding=0):
    return F.conv2d(x, p[f'{name}.weight'], p[f'{name}.bias'], (stride, 1),
                    (padding, 0))


def _simam_drop(x):
    """att_drop.Simam_Drop: SimAM energy attention of the input; joints with
    mean attention >= keep_prob are dropped, then entries with attention >=
    keep_prob; each drop rescales by numel / kept over the whole batch."""
    nm, c, t, v = x.shape
    d = (x - x.mean(dim=(2, 3), keepdim=True)) ** 2
    att = torch.sigmoid(d / (4 * (d.sum(dim=(2, 3), keepdim=True) / (v * t - 1) +
                                  1e-4)) + 0.5).detach()
    keep_joint = (att.mean(dim=(1, 2)) < KEEP_PROB).to(x.dtype).view(nm, 1, 1, v)
    x = x * keep_joint * keep_joint.numel() / keep_joint.sum()
    keep = (att < KEEP_PROB).to(x.dtype)
    return x * keep * keep.numel() / keep.sum()


def _encoder(x, p, buffers, masks, drop=False):
    """st_gcn.Model.forward (+ the mlp projector) on (N, C, T, V, M) input;
    with ``drop``, also the output after Simam_Drop of the last features."""
    n, c, t, v, m = x.shape
    x = x.permute(0, 4, 3, 1, 2).reshape(n * m, v * c, t)
    x = _bn(x, p, 'data_bn', buffers).view(n, m, v, c, t)
    x = x.permute(0, 1, 3, 4, 2).reshape(n * m, c, t, v)
    A = buffers['A']
    for i, stride in enumerate(STRIDES):
        name = f'st_gcn_networks.{i}'
        cin, cout = x.shape[1], p[f'{name}.tcn.2.weight'].shape[0]
        if i == 0:
            res = 0
        elif cin == cout and stride == 1:
            res = x
        else:
            res = _bn(_conv(x, p, f'{name}.residual.0', stride), p,
                      f'{name}.residual.1', buffers)
        # ConvTemporalGraphical: 1x1 conv to K*C, then sum_k x_k A_k
        y = _conv(x, p, f'{name}.gcn.conv')
        y = y.view(y.shape[0], A.shape[0], -1, y.shape[2], y.shape[3])
        y = torch.einsum('nkctv,kvw->nctw', y, A * p[f'edge_importance.{i}'])
        y = F.relu(_bn(y, p, f'{name}.tcn.0', buffers))
        y = _bn(_conv(y, p, f'{name}.tcn.2', stride, 4), p, f'{name}.tcn.3',
                buffers)
        if i > 0:  # nn.Dropout(0.5): our recorded mask, replayed
            mask, keep = masks.pop(0)
            assert mask.shape == y.shape, (name, mask.shape, y.shape)
            y = y * mask.to(y.dtype) / keep
        x = F.relu(y + res)

    def head(feat):
        pooled = feat.mean(dim=(2, 3)).view(n, m, -1).mean(dim=1)
        hidden = F.relu(F.linear(pooled, p['fc.0.weight'], p['fc.0.bias']))
        return F.linear(hidden, p['fc.2.weight'], p['fc.2.bias'])

    return (head(x), head(_simam_drop(x))) if drop else head(x)


def reference_step(p_q, p_k, buffers, queue, im_q, im_q_extreme, im_k, masks,
                   mining, topk=1):
    """AimCLR.forward / nearest_neighbors_mining and the processor's loss."""
    q = F.normalize(_encoder(im_q, p_q, buffers['q'], masks), dim=1)
    q_e, q_ed = _encoder(im_q_extreme, p_q, buffers['q'], masks, drop=True)
    q_e, q_ed = F.normalize(q_e, dim=1), F.normalize(q_ed, dim=1)
    with torch.no_grad():
        p_k = {k: v * MOMENTUM + p_q[k].detach() * (1 - MOMENTUM)
               for k, v in p_k.items()}
        k = F.normalize(_encoder(im_k, p_k, buffers['k'], masks), dim=1)
    l_negs, logits = [], []
    for query in (q, q_e, q_ed):
        l_pos = torch.einsum('nc,nc->n', query, k).unsqueeze(-1)
        l_neg = torch.einsum('nc,ck->nk', query, queue)
        l_negs.append(l_neg)
        logits.append(torch.cat([l_pos, l_neg], dim=1) / TEMPERATURE)
    target = torch.softmax(logits[0].detach(), dim=1)
    loss2 = -torch.mean(torch.sum(torch.log(torch.softmax(logits[1], 1)) *
                                  target, dim=1))
    loss3 = -torch.mean(torch.sum(torch.log(torch.softmax(logits[2], 1)) *
                                  target, dim=1))
    if mining:
        onehot = torch.zeros_like(l_negs[0])
        for l_neg in l_negs:
            onehot.scatter_(1, torch.topk(l_neg, topk, dim=1)[1], 1)
        pos_mask = torch.cat([torch.ones(onehot.shape[0], 1,
                                         dtype=onehot.dtype), onehot], dim=1)
        loss1 = (-(F.log_softmax(logits[0], dim=1) * pos_mask).sum(1) /
                 pos_mask.sum(1)).mean()
    else:
        loss1 = F.cross_entropy(logits[0], torch.zeros(len(q), dtype=torch.long))
    new_queue = queue.clone()
    new_queue[:, :k.shape[0]] = k.T  # queue_ptr 0
    return dict(loss=loss1 + (loss2 + loss3) / 2., loss_nce=loss1,
                loss_d3m=(loss2 + loss3) / 2., k=k, queue=new_queue)


# ----------------------------------------------------------------- the test
@pytest.fixture(scope='module')
def reference_state():
    if not FIXTURE.is_file():
        pytest.skip(f'reference fixture {FIXTURE} is absent')
    state = torch.load(FIXTURE, weights_only=True)['state_dict']
    return {k: v.double() if v.is_floating_point() else v
            for k, v in state.items()}


def _our_model(state, key_state):
    cfg = Config.fromfile(str(ROOT / 'configs/_base_/models/ms_aimclr.py'))
    model_cfg = cfg.model.to_dict()
    model_cfg['backbone']['graph_cfg']['layouts'] = ['kinectv2_25']
    model_cfg['backbone']['channels'] = (16, 16, 16, 16, 32, 32, 32, 64, 64, 256)
    model_cfg.update(queue_len=QUEUE, init_cfg=None)
    model_cfg['neck']['init_cfg'] = None
    model = MODELS.build(model_cfg).double().train()
    for prefix, source in (('', state), ('momentum_', key_state)):
        converted, _ = convert_reference(source)
        for part in ('backbone', 'neck'):
            module = getattr(model, prefix + part)
            module.load_state_dict({
                k[len(part) + 1:]: v for k, v in converted.items()
                if k.startswith(part + '.')}, strict=True)
    return model


@pytest.mark.parametrize('mining', [False, True], ids=['plain', 'mining'])
def test_training_step_matches_reference(reference_state, mining, monkeypatch):
    gen = torch.Generator().manual_seed(0)
    names = [k for k in reference_state
             if k != 'A' and not k.endswith(('running_mean', 'running_var',
                                             'num_batches_tracked'))]
    key_state = dict(reference_state)
    for name in names:  # a key encoder that differs from the query encoder
        value = reference_state[name]
        key_state[name] = value + 0.05 * value.abs().mean() * torch.randn(
            value.shape, generator=gen, dtype=value.dtype)
    model = _our_model(reference_state, key_state)
    # clips that differ (a pose per clip, plus noise per view)
    pose = torch.randn(4, 3, 1, 25, 2, generator=gen, dtype=torch.float64)
    views = {v: pose + noise * torch.randn(4, 3, 20, 25, 2, generator=gen,
                                           dtype=torch.float64)
             for v, noise in (('query', 0.3), ('query_extreme', 1.), ('key', 0.3))}
    # our inputs: (N, M, T, V, C)
    inputs = {v: x.permute(0, 4, 2, 3, 1).contiguous() for v, x in views.items()}
    # hard negatives: noisy copies of the clips' queries, extreme queries
    # and keys (from a first pass), so that the contrastive terms depend on
    # every detail and each query type mines its own neighbours
    with torch.no_grad():
        near = torch.cat([model.encode_query(inputs['query'], None),
                          model.encode_query(inputs['query_extreme'], None),
                          model.encode_key(inputs['key'], None)])
        near = near.T.repeat(1, QUEUE // len(near) + 1)[:, :QUEUE]
    queue = F.normalize(near + 0.01 * torch.randn(
        near.shape, generator=gen, dtype=torch.float64), dim=0)
    model.queue.copy_(queue)

    masks = []

    def recording_keep_mask(x, p):
        mask, keep = keep_mask(x, p)
        masks.append((mask.clone(), keep))
        return mask, keep

    keep_mask = ms_dropout.keep_mask
    monkeypatch.setattr(ms_dropout, 'keep_mask', recording_keep_mask)
    hub = MessageHub.get_current_instance()
    epoch = hub.get_info('epoch', None)
    hub.update_info('epoch', 200 if mining else 0)  # mining after epoch 150
    try:
        losses = model.loss(inputs)
    finally:
        hub.update_info('epoch', 0 if epoch is None else epoch)
    total = losses['loss_nce'] + losses['loss_d3m']
    total.backward()
    assert len(masks) == 27, 'nine dropout masks per encoder pass expected'
    if mining:  # the three query types mine different neighbours
        print(f"positives per query {losses['num_positives'].item()}")
        assert losses['num_positives'] > 2

    p_q = {k: reference_state[k].clone().requires_grad_() for k in names}
    p_k = {k: key_state[k] for k in names}
    buffers = {side: {k: v.clone() for k, v in reference_state.items()
                      if k not in names} for side in ('q', 'k')}
    ref = reference_step(p_q, p_k, buffers, queue,
                         views['query'], views['query_extreme'], views['key'],
                         list(masks), mining)
    ref['loss'].backward()

    for name in ('loss_nce', 'loss_d3m'):
        assert abs(losses[name].item() - ref[name].item()) < TOL, name
    assert abs(total.item() - ref['loss'].item()) < TOL
    torch.testing.assert_close(model.queue, ref['queue'], atol=TOL, rtol=0)
    # the gradients, by the reference's names through the converter
    grads = dict(reference_state)
    grads.update({k: p_q[k].grad for k in names})
    ref_grads, _ = convert_reference(grads)
    ours = dict(model.named_parameters())
    compared, worst = 0, 0.
    for name, grad in ref_grads.items():
        if name in ours and ours[name].requires_grad:
            assert ours[name].grad is not None, name
            diff = (ours[name].grad - grad).abs().max().item()
            assert diff < TOL, (name, diff)
            worst = max(worst, diff)
            compared += 1
    print(f'max |grad diff| {worst:.1e} over {compared} parameters; losses '
          f"{losses['loss_nce'].item():.6f} {losses['loss_d3m'].item():.6f}")
    assert compared == len(names)  # every reference parameter
    assert max(p.grad.abs().max().item() for p in p_q.values()) > 1e-4
    assert all(p.grad is None for n, p in ours.items() if n.startswith('momentum_'))
