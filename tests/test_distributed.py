"""Several processes through the user's commands: tools/dist_train.sh and
tools/dist_test.sh (torchrun, gloo on this CPU), and kill -9 + --resume with
persistent dataloader workers."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import mmengine
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import msclr_plugin  # noqa: F401
from mmaction.registry import MODELS
from msclr_plugin.engine.hooks import KNNMonitorHook
from .conftest import load_tool, repo_env
from .processes import processes_marked
from .test_dataset import PRETRAIN_PIPELINE, make_store
from .test_eval_runner import model_cfg
from .test_tools_train import TINY_MODEL, assert_same_training_state

ROOT = Path(__file__).resolve().parents[1]
CONVS = ['kinectv2_25', 'msr_action3d_20', 'smpl_24']

PRETRAIN = '''
_base_ = {runtime!r}
custom_imports = dict(imports=['msclr_plugin', 'tests.run_hooks'])
''' + TINY_MODEL.format(layouts=CONVS, mining_epoch=1) + '''
model.update(queue_len=40, shuffle_bn={shuffle_bn})
train_dataloader = dict(
    batch_size=2, num_workers={workers}, persistent_workers={persistent},
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler={batch_sampler},
    dataset=dict(type='MultiSkeletonDataset', ann_file={store!r},
                 split='train', pipeline={pipeline!r}))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs={epochs})
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9,
                                    weight_decay=1e-4))
param_scheduler = [dict(type='MultiStepLR', milestones=[{epochs}], gamma=0.1)]
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=5),
                     logger=dict(interval=1))
log_level = 'WARNING'
custom_hooks = [dict(type='RNGStateHook'), {hooks}]
'''

KNN = '''
knn_data = dict(type='MultiSkeletonDataset', ann_file={store!r},
                conventions=['kinectv2_25'], mode='kinectv2_25',
                pipeline={eval_pipeline!r})
knn_loader = dict(batch_size=4, num_workers=0,
                  sampler=dict(type='DefaultSampler', shuffle=False))
knn_hook = dict(
    type='KNNMonitorHook', interval=1, k=3,
    train_dataloader=dict(knn_loader, dataset=dict(knn_data, split='train')),
    val_dataloader=dict(knn_loader, dataset=dict(knn_data, split='val',
                                                 test_mode=True)))
custom_hooks = [dict(type='RNGStateHook'), dict(type='DumpRankStateHook'),
                knn_hook]
'''

EVAL_PIPELINE = [
    dict(type='MSMultiView', common=[dict(type='MSResample', clip_len=12)],
         default=[]),
    dict(type='PackMultiSkeletonInputs')
]

PROBE = '''
_base_ = {runtime!r}
model = {probe!r}
dataset = dict(type='MultiSkeletonDataset', ann_file={store!r},
               pipeline={eval_pipeline!r})
train_dataloader = dict(
    batch_size=3, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(dataset, split='train', mode='single'))
val_dataloader = dict(
    batch_size=4, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(dataset, split='val', mode='all', test_mode=True))
test_dataloader = val_dataloader
val_evaluator = dict(type='MSAccMetric', topk=(1, 2))
test_evaluator = val_evaluator
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=2, val_interval=2)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.5, momentum=0.9))
sync_bn = 'torch'
default_hooks = dict(checkpoint=dict(interval=2), logger=dict(interval=1))
log_level = 'WARNING'
'''


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return str(sock.getsockname()[1])


def tracebacks(text):
    """The Python tracebacks in a command's output (every rank's), each up
    to its exception line."""
    return re.findall(r'^.*Traceback \(most recent call last\):\n'
                      r'(?:.*\n)*?[^ \t\n].*$', text, flags=re.M)


def run(args, timeout=600, check=True, **env):
    """Run a command from the repository root. It fails with the ranks'
    tracebacks (then the output's tail) when the command fails (unless
    ``check`` is False) or times out, and when it leaves a process behind
    (those are killed). Returns the output, with the exit status when
    ``check`` is False."""
    marker = f'MSCLR_TEST_RUN={uuid.uuid4().hex}'
    proc = subprocess.Popen(
        args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
        env=repo_env(PORT=free_port(), **dict([marker.split('=')], **env)))
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
        failure = f'exit status {proc.returncode}' \
            if proc.returncode and check else None
    except subprocess.TimeoutExpired:
        for pid in processes_marked(marker):
            os.kill(pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        failure = f'timed out after {timeout} s'
    strays = []
    for _ in range(50):  # ranks may take a moment to exit after the launcher
        strays = processes_marked(marker)
        if not strays:
            break
        time.sleep(0.1)
    for pid in strays:
        os.kill(pid, signal.SIGKILL)
    if failure is None and strays:
        failure = f'left {len(strays)} processes running (killed)'
    if failure is not None:
        found = '\n'.join(tracebacks(stdout + stderr))
        pytest.fail(f'{" ".join(args)}: {failure}\n{found[-8000:]}\n--- tail:\n'
                    f'{stdout[-2000:]}{stderr[-3000:]}', pytrace=False)
    return stdout if check else (proc.returncode, stdout + stderr)


@pytest.fixture(scope='module')
def store(tmp_path_factory):
    return make_store(tmp_path_factory.mktemp('dist') / 'store', num_clips=26)


def probe_model():
    """A frozen random encoder and one classifier per convention."""
    cfg = model_cfg()
    cfg['backbone']['graph_cfg']['layouts'] = CONVS
    cfg['cls_head'].update(skeletons=CONVS, feat_norm=True)
    cfg['data_preprocessor'] = dict(type='MultiSkeletonDataPreprocessor')
    return cfg


def write_config(path, template, store, **fields):
    values = dict(runtime=str(ROOT / 'configs/_base_/default_runtime.py'),
                  store=store, pipeline=PRETRAIN_PIPELINE,
                  eval_pipeline=EVAL_PIPELINE, probe=probe_model())
    values.update(fields)
    path.write_text(template.format(**values))
    return str(path)


def torchrun_train(config, work):
    """``tools/train.py CONFIG`` in 2 processes under torchrun."""
    run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node=2',
         f'--master_port={free_port()}', 'tools/train.py', config, '--launcher',
         'pytorch', '--work-dir', str(work)])


def assert_ranks_identical(work):
    """Every rank's weights, key encoder, queue, BN statistics and optimizer
    state are bit for bit the same after training."""
    r0, r1 = [torch.load(work / f'rank{r}.pth', weights_only=True) for r in range(2)]
    assert r0['iters'] == r1['iters'] > 0
    assert_same_training_state(r0, r1)
    return r0, r1


@pytest.mark.dist
def test_dist_train_grouped_ranks_agree_and_knn_equals_one_process(store, tmp_path):
    """tools/dist_train.sh CONFIG 2 with no option: MS-AimCLR (EADM, D3M,
    mining from epoch 2) on grouped batches (pairs shared across ranks, mixed
    leftovers), kNN monitor under DDP."""
    config = write_config(
        tmp_path / 'grouped.py', PRETRAIN + KNN, store, workers=0,
        persistent=False, shuffle_bn=False, epochs=2, hooks='',
        batch_sampler="dict(type='ConventionGroupedBatchSampler', "
        "drop_last=True, mix_leftovers=True)")
    work = tmp_path / 'work'
    run(['bash', 'tools/dist_train.sh', config, '2', '--work-dir', str(work)])
    r0, r1 = assert_ranks_identical(work)
    # 13 train clips x 3 conventions, global batch 4: 9 steps an epoch
    assert r0['iters'] == 2 * (13 * 3 // 4)
    # one pair per step, the same on both ranks, but for the mixed batches
    # of pooled leftovers at the end of each epoch
    shared = [p0 == p1 and len(p0) == 1 for p0, p1 in zip(r0['pairs'], r1['pairs'])]
    for epoch in (shared[:9], shared[9:]):
        assert epoch == sorted(epoch, reverse=True) and 4 <= sum(epoch) < 9
    state = r0['state_dict']
    # the queue holds the keys of both ranks: 4 per step
    assert int(state['queue_ptr']) == (4 * r0['iters']) % 40
    logged = [json.loads(line) for line in
              next(work.glob('*/vis_data/scalars.json')).read_text().splitlines()]
    assert {r['epoch'] for r in logged if 'num_positives' in r} == {2}
    knn = [r['knn/top1'] for r in logged if 'knn/top1' in r]
    assert len(knn) == 2
    # the same kNN top-1 from the saved weights in this single process
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    model.load_state_dict(torch.load(work / 'epoch_2.pth', weights_only=True)
                          ['state_dict'])
    hook = KNNMonitorHook(k=3)
    hook_cfg = cfg.knn_hook
    hook._loaders = tuple(Runner.build_dataloader(hook_cfg[key], seed=0)
                          for key in ('train_dataloader', 'val_dataloader'))
    assert hook.evaluate(model) == knn[-1]


@pytest.mark.dist
def test_dist_train_padded_shuffle_bn_sync_bn_ranks_agree(store, tmp_path):
    """Padded mixed batches (no batch sampler), MoCo's shuffling BN and
    SyncBN, 2 processes: the ranks end identical."""
    config = write_config(
        tmp_path / 'padded.py', PRETRAIN + "sync_bn = 'torch'\n", store,
        workers=0, persistent=False, shuffle_bn=True, epochs=1,
        batch_sampler='None, drop_last=True',
        hooks="dict(type='DumpRankStateHook')")
    work = tmp_path / 'work'
    torchrun_train(config, work)
    r0, r1 = assert_ranks_identical(work)
    # DefaultSampler: 39 items padded to 2 x 20, batch 2 per rank
    assert r0['iters'] == 10
    assert any(len(p) > 1 for p in r0['pairs'] + r1['pairs'])  # padded
    assert int(r0['state_dict']['queue_ptr']) == (4 * r0['iters']) % 40


@pytest.mark.dist
def test_dist_train_second_key_ranks_agree(store, tmp_path):
    """A second key in the query's convention (extra_key_view, the
    dataset's extra_views) on grouped batches with MoCo's shuffling BN, 2
    processes: the extra view is shuffled across ranks like the key, and
    the ranks end identical."""
    views = dict(PRETRAIN_PIPELINE[0]['pipelines'])
    views['key_same'] = views['key']
    pipeline = [dict(PRETRAIN_PIPELINE[0], pipelines=views), *PRETRAIN_PIPELINE[1:]]
    config = write_config(
        tmp_path / 'two_keys.py', PRETRAIN + (
            "model.update(extra_key_view='key_same', extra_key_weight=0.5)\n"
            "train_dataloader['dataset'].update(extra_views=dict(key_same='query'))\n"),
        store, pipeline=pipeline, workers=0, persistent=False, shuffle_bn=True,
        epochs=1, hooks="dict(type='DumpRankStateHook')",
        batch_sampler="dict(type='ConventionGroupedBatchSampler', drop_last=True)")
    work = tmp_path / 'work'
    torchrun_train(config, work)
    r0, r1 = assert_ranks_identical(work)
    assert int(r0['state_dict']['queue_ptr']) == (4 * r0['iters']) % 40
    assert Config.fromfile(config).model.extra_key_view == 'key_same'


@pytest.mark.dist
def test_linear_probe_and_test_under_ddp_equal_one_process(store, tmp_path):
    """Probe training (per-convention heads, some missing from a rank's
    batch; SyncBN on the head's feature norm) with tools/slurm_train.sh (2
    CPU tasks through a stand-in srun), its checkpoint tested by
    tools/dist_test.sh and by tools/test.py in one process: the same metrics
    and scores."""
    config = write_config(tmp_path / 'probe.py', PROBE, store)
    work = tmp_path / 'work'
    run(['bash', 'tools/slurm_train.sh', 'cpu', 'probe', config, '--work-dir',
         str(work)], GPUS='2', GPUS_PER_NODE='0', MASTER_PORT=free_port(),
        PATH=f"{ROOT / 'tests/fake_slurm'}:{os.environ['PATH']}")
    steps = [json.loads(line).get('iter') for line in next(
        work.glob('*/vis_data/scalars.json')).read_text().splitlines()]
    assert max(s for s in steps if s) == 2 * 7  # 2 tasks: 20 items, batch 3
    checkpoint = str(work / 'epoch_2.pth')
    run(['bash', 'tools/dist_test.sh', config, checkpoint, '2', '--work-dir',
         str(tmp_path / 'dist'), '--dump', str(tmp_path / 'dist.pkl')])
    load_tool('test').main([config, checkpoint, '--work-dir', str(tmp_path / 'one'),
                            '--dump', str(tmp_path / 'one.pkl')])

    def metrics(pattern):
        lines = [json.loads(line) for path in tmp_path.glob(pattern)
                 for line in path.read_text().splitlines()]
        found = [{k: v for k, v in r.items() if k.startswith('acc/')}
                 for r in lines if any(k.startswith('acc/') for k in r)]
        assert len(found) == 1, pattern
        return found[0]

    # validation inside the 2-process training, test in 2 processes and in 1
    val = metrics('work/*/vis_data/scalars.json')
    assert metrics('dist/*/*.json') == metrics('one/*/*.json') == val
    dumps = [mmengine.load(str(tmp_path / f'{n}.pkl')) for n in ('dist', 'one')]
    assert len(dumps[0]) == len(dumps[1]) == 13
    for a, b in zip(*dumps):
        assert torch.allclose(a['pred_score'], b['pred_score'], atol=1e-5)


@pytest.mark.dist
@pytest.mark.parametrize('launcher', ['slurm', 'torchrun'])
def test_a_failing_rank_fails_with_its_traceback_and_leaves_no_process(
        store, tmp_path, launcher):
    """Rank 1 raises mid-training (its peer then waits in a collective):
    the launch fails with rank 1's traceback, no abort, no process left."""
    config = write_config(
        tmp_path / 'probe.py', PROBE + "custom_imports = dict(imports=["
        "'msclr_plugin', 'tests.run_hooks'])\ncustom_hooks = [dict(type="
        "'RaiseOnRankHook', rank=1, at_iter=2)]\n", store)
    args = ['--work-dir', str(tmp_path / 'work')]
    if launcher == 'slurm':
        code, out = run(['bash', 'tools/slurm_train.sh', 'cpu', 'probe', config]
                        + args, check=False, GPUS='2', GPUS_PER_NODE='0',
                        MASTER_PORT=free_port(), PATH=f"{ROOT / 'tests/fake_slurm'}:"
                        f"{os.environ['PATH']}")
    else:
        code, out = run(['bash', 'tools/dist_train.sh', config, '2'] + args,
                        check=False)
    assert code == 1, out[-3000:]
    assert 'terminate called' not in out
    failed = [t for t in tracebacks(out)
              if 'RuntimeError: raised on rank 1 at iteration 2' in t]
    assert failed and 'rank 1 of 2 failed' in out, out[-3000:]


def test_kill_9_mid_epoch_with_persistent_workers_resumes_exactly(store, tmp_path):
    """2 persistent dataloader workers (the shipped setting), SIGKILL in the
    middle of epoch 2 (of 2, mining), ``--resume``: the final encoder, key
    encoder, queue and optimizer state equal the uninterrupted run's bit for
    bit."""
    fields = dict(workers=2, persistent=True, shuffle_bn=False, epochs=2,
                  batch_sampler="dict(type='ConventionGroupedBatchSampler', "
                  "drop_last=True)")
    config = write_config(tmp_path / 'cfg.py', PRETRAIN, store, hooks='', **fields)
    straight, resumed = tmp_path / 'straight', tmp_path / 'resumed'
    train = [sys.executable, 'tools/train.py', config, '--seed', '0']
    run(train + ['--work-dir', str(straight)])
    epochs = [json.loads(line)['epoch'] for line in next(straight.glob(
        '*/vis_data/scalars.json')).read_text().splitlines()]
    kill_at = epochs.count(1) + 2  # the middle of epoch 2
    assert epochs.count(2) > 3
    killed = write_config(tmp_path / 'killed.py', PRETRAIN, store,
                          hooks=f"dict(type='SelfKillHook', at_iter={kill_at})",
                          **fields)
    # the workers of the killed process exit too (run fails on a stray)
    code, out = run([sys.executable, 'tools/train.py', killed, '--seed', '0',
                     '--work-dir', str(resumed)], check=False)
    assert code == -9, out[-3000:]
    assert (resumed / 'epoch_1.pth').exists()
    assert not (resumed / 'epoch_2.pth').exists()
    run(train + ['--work-dir', str(resumed), '--resume'])
    a = torch.load(straight / 'epoch_2.pth', weights_only=True)
    b = torch.load(resumed / 'epoch_2.pth', weights_only=True)
    assert_same_training_state(a, b)
    one = torch.load(resumed / 'epoch_1.pth', weights_only=True)['state_dict']
    assert not torch.equal(one['queue'], b['state_dict']['queue'])


def _ddp_worker(rank):
    """Two gloo processes: SyncBN against BN over the whole batch in one
    process; MSCrosSCLR and per-convention classifiers under DDP without
    find_unused_parameters, with conventions missing from a rank's batch."""
    import copy

    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    from msclr_plugin.models.layers import (MaskedBatchNorm2d,
                                            convert_sync_batchnorm)
    from .test_pretrain_models import KINECT, SMPLX, model_cfg, samples, views
    out = {}
    g = torch.Generator().manual_seed(0)
    rows = slice(4 * rank, 4 * rank + 4)
    for shape, masked in (((8, 4, 5, 6), True), ((8, 6, 5), False)):
        x = torch.randn(*shape, generator=g) * 3 + 2
        grad_out = torch.randn(*shape, generator=g)
        mask = torch.rand(8, shape[-1], generator=g) > 0.3
        mask[:, 0] = True
        mask = mask if masked else None
        ref = (MaskedBatchNorm2d if masked else torch.nn.BatchNorm1d)(shape[1])
        with torch.no_grad():
            ref.weight.uniform_(0.5, 1.5, generator=g)
            ref.bias.uniform_(-1, 1, generator=g)
        synced = convert_sync_batchnorm(copy.deepcopy(ref))
        x_full = x.clone().requires_grad_()
        x_half = x[rows].clone().requires_grad_()
        y_full = ref(x_full) if mask is None else ref(x_full, mask)
        (y_full * grad_out).sum().backward()
        y = synced(x_half, None if mask is None else mask[rows])
        (y * grad_out[rows]).sum().backward()
        weight_grad = synced.weight.grad.clone()
        dist.all_reduce(weight_grad)  # what DDP sums (then averages)
        out[len(shape)] = [
            (y, y_full[rows]), (x_half.grad, x_full.grad[rows]),
            (weight_grad, ref.weight.grad),
            (synced.running_mean, ref.running_mean),
            (synced.running_var, ref.running_var)]
    # MSCrosSCLR: Kinect queries only, so the SMPL-X input BN and edge
    # importance of the query encoders get no gradient from the batch
    torch.manual_seed(0)
    model = DDP(MODELS.build(model_cfg('MSCrosSCLR', layouts=(KINECT, SMPLX))))
    keys = [(KINECT, SMPLX)[step % 2] for step in range(3)]
    out['crossclr'] = ddp_steps(model, [
        (views(vk=25 if key == KINECT else 42, seed=10 * step + rank),
         samples(KINECT, key)) for step, key in enumerate(keys)])
    # per-convention classifiers: rank 0's batch has no SMPL-X sample
    head = DDP(MODELS.build(dict(type='MSLinearHead', num_classes=3,
                                 in_channels=8, skeletons=[KINECT, SMPLX])))
    convs = [KINECT] * 4 if rank == 0 else [KINECT, SMPLX] * 2
    for _ in range(2):
        head(torch.randn(4, 8, generator=g), convs).sum().backward()
    out['head'] = [p.grad for p in head.parameters()]
    return out


def ddp_steps(model, batches):
    """SGD steps of a DDP-wrapped pretraining model on ``(views,
    samples)`` batches; the module's state dict after them."""
    optim = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for inputs, data_samples in batches:
        losses = model(inputs, data_samples, mode='loss')
        sum(v for k, v in losses.items() if k.startswith('loss')).backward()
        optim.step()
        optim.zero_grad()
    return model.module.state_dict()


def _ranked(rank, worker, port, out_dir):
    import torch.distributed as dist
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=2)
    try:
        torch.save(worker(rank), f'{out_dir}/rank{rank}.pt')
    finally:
        dist.destroy_process_group()


def spawn_two(worker, tmp_path):
    """Run ``worker(rank)`` in two gloo processes; what each returned."""
    import torch.multiprocessing as mp
    mp.spawn(_ranked, args=(worker, int(free_port()), str(tmp_path)), nprocs=2)
    return [torch.load(tmp_path / f'rank{r}.pt', weights_only=True) for r in range(2)]


@pytest.mark.dist
def test_sync_bn_and_ddp_without_find_unused_parameters(tmp_path):
    ranks = spawn_two(_ddp_worker, tmp_path)
    for out in ranks:
        for dims in (4, 3):  # masked (N, C, T, V) and BatchNorm1d-like
            for got, expected in out[dims]:
                assert torch.allclose(got, expected, atol=1e-5), dims
    compared = 0
    for name, value in ranks[0]['crossclr'].items():
        if 'running_' not in name and 'num_batches' not in name:  # per rank
            assert torch.equal(value, ranks[1]['crossclr'][name]), name
            compared += 1
    assert compared > 100
    for a, b in zip(ranks[0]['head'], ranks[1]['head']):
        assert torch.equal(a, b)
