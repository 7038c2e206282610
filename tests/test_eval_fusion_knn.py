"""Score fusion (tools/ensemble.py), kNN, KNNMonitorHook, semi subsets."""
import importlib.util
import json
import logging
import pickle
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import msclr_plugin  # noqa: F401
from mmaction.registry import HOOKS, MODELS
from mmaction.structures import ActionDataSample
from mmengine.logging import MessageHub, MMLogger
from msclr_plugin.evaluation.fusion import fuse_scores
from msclr_plugin.evaluation.knn import extract_features, knn_classify
from msclr_plugin.evaluation.semi import select_labelled_subset

MMLogger.get_current_instance().setLevel('WARNING')
ROOT = Path(__file__).resolve().parents[1]


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name,
                                                  ROOT / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def softmax(scores):
    exp = np.exp(scores - scores.max(1, keepdims=True))
    return exp / exp.sum(1, keepdims=True)


def write_dump(path, scores, labels, names=None, raw=True):
    """A dump as tools/test.py writes it: raw scores and probabilities."""
    items = []
    for i, (s, l) in enumerate(zip(scores, labels)):
        item = dict(
            pred_score=torch.tensor(softmax(s[None])[0], dtype=torch.float32),
            pred_label=torch.tensor([int(np.argmax(s))]),
            gt_label=torch.tensor([int(l)]))
        if raw:
            item['pred_raw_score'] = torch.tensor(s, dtype=torch.float32)
        if names is not None:
            item['clip_name'] = names[i]
        items.append(item)
    with open(path, 'wb') as f:
        pickle.dump(items, f)
    return str(path)


# Two streams that are each right on 2 of 4 items; fused right on 4.
JOINT = np.array([[3., 0, 0], [0, 0, 1], [0, 2, 0], [2, 0, 0]])
BONE = np.array([[0, 1., 0], [0, 0, 4], [0, 0, 1], [0, 0, 3]])
LABELS = np.array([0, 2, 1, 2])


def test_fusion_tool_two_streams(tmp_path, capsys):
    ensemble = load_tool('ensemble')
    a = write_dump(tmp_path / 'joint.pkl', JOINT, LABELS)
    b = write_dump(tmp_path / 'bone.pkl', BONE, LABELS)
    report = ensemble.main([a, b, '--weights', '1', '1', '--topk', '1', '2'])
    # fused = [[3,1,0],[0,0,5],[0,2,1],[2,0,3]] -> argmax 0,2,1,2: all right
    assert report['top1'] == 1.0
    single = ensemble.main([a, '--topk', '1'])
    assert single['top1'] == 0.75  # joint alone: items 0, 1, 2 right
    out = capsys.readouterr().out
    assert 'fused' in out and 'top1 100.00' in out
    # Weighted: 1 * joint + 0.1 * bone keeps joint's argmax on item 3.
    fused = fuse_scores([JOINT, BONE], [1, 0.1])
    np.testing.assert_allclose(fused, JOINT + 0.1 * BONE)


def test_fusion_defaults_raw_and_prob(tmp_path):
    ensemble = load_tool('ensemble')
    motion = np.array([[0, 0, 9.], [0, 0, 9], [0, 0, 9], [0, 0, 9]])
    paths = [
        write_dump(tmp_path / f'{n}.pkl', s, LABELS)
        for n, s in (('j', JOINT), ('b', BONE), ('m', motion))
    ]
    report = ensemble.main(paths + ['--topk', '1'])
    manual = 0.6 * JOINT + 0.6 * BONE + 0.4 * motion
    assert report['top1'] == float((manual.argmax(1) == LABELS).mean())
    # raw and probability fusion disagree here: the test can tell them apart
    probs = 0.6 * softmax(JOINT) + 0.6 * softmax(BONE) + 0.4 * softmax(motion)
    assert (probs.argmax(1) != manual.argmax(1)).any()
    report = ensemble.main(paths + ['--scores', 'prob', '--topk', '1'])
    assert report['top1'] == float((probs.argmax(1) == LABELS).mean())
    # a dump without raw scores: a clear error, the way out named
    old = write_dump(tmp_path / 'old.pkl', JOINT, LABELS, raw=False)
    with pytest.raises(SystemExit, match='no pred_raw_score.*--scores prob'):
        ensemble.main([old, paths[1]])
    assert ensemble.main([old, '--scores', 'prob', '--topk', '1'])['top1'] \
        == 0.75


def test_fusion_rejects_misaligned_dumps(tmp_path):
    ensemble = load_tool('ensemble')
    a = write_dump(tmp_path / 'a.pkl', JOINT, LABELS)
    shuffled = write_dump(tmp_path / 'b.pkl', BONE, LABELS[::-1])
    with pytest.raises(SystemExit, match='label of item 0'):
        ensemble.main([a, shuffled])
    short = write_dump(tmp_path / 'c.pkl', BONE[:3], LABELS[:3])
    with pytest.raises(SystemExit, match='not the same test set'):
        ensemble.main([a, short])
    names = ['c0', 'c1', 'c2', 'c3']
    x = write_dump(tmp_path / 'x.pkl', JOINT, LABELS, names)
    y = write_dump(tmp_path / 'y.pkl', BONE, LABELS, names[::-1])
    with pytest.raises(SystemExit, match="clip 'c3'"):
        ensemble.main([x, y])
    with pytest.raises(SystemExit, match='2 weights for 1'):
        ensemble.main([a, '--weights', '1', '2'])


def test_knn_separable_is_perfect():
    g = torch.Generator().manual_seed(0)
    centres = torch.eye(4, 16) * 10
    train_labels = torch.arange(4).repeat(25)
    test_labels = torch.arange(4).repeat(10)
    train = centres[train_labels] + torch.randn(100, 16, generator=g)
    test = centres[test_labels] + torch.randn(40, 16, generator=g)
    preds, top1 = knn_classify(train, train_labels, test, k=20,
                               test_labels=test_labels, chunk_size=7)
    assert top1 == 1.0 and torch.equal(preds, test_labels)


def test_knn_votes_are_similarity_weighted():
    # One very close neighbour of class 0 against two weaker of class 1.
    train = torch.tensor([[1., 0.], [0.6, 0.8], [0.6, 0.8]])
    labels = torch.tensor([0, 1, 1])
    query = torch.tensor([[1., 0.05]])
    sharp, _ = knn_classify(train, labels, query, k=3, temperature=0.07)
    flat, _ = knn_classify(train, labels, query, k=3, temperature=100.)
    assert sharp.item() == 0 and flat.item() == 1


def tiny_model_cfg():
    return dict(
        type='MSRecognizerGCN',
        backbone=dict(
            type='MSSTGCN',
            graph_cfg=dict(
                type='MultiSkeletonGraph',
                layouts=['kinectv2_25', 'smplx_42']),
            channels=(8, 8, 16, 16),
            num_stages=4,
            down_stages=(3, ),
            frozen_stages=4),
        cls_head=dict(type='MSLinearHead', num_classes=3, in_channels=16),
        data_preprocessor=dict(type='BaseDataPreprocessor'))


def tiny_model():
    torch.manual_seed(0)
    return MODELS.build(tiny_model_cfg())


def batches(n_batches=3, n=4):
    out = []
    for b in range(n_batches):
        samples = []
        for i in range(n):
            ds = ActionDataSample().set_gt_label((b * n + i) % 3)
            ds.set_metainfo(
                dict(skeletons={'kinectv2_25': 'kinectv2_25',
                                'smplx_42': 'smplx_42'}))
            samples.append(ds)
        out.append(
            dict(
                inputs=dict(
                    kinectv2_25=torch.randn(n, 2, 20, 25, 3),
                    smplx_42=torch.randn(n, 2, 20, 42, 3)),
                data_samples=samples))
    return out


def test_extract_features_averages_views():
    model = tiny_model()
    model.train()
    data = batches()
    feats, labels = extract_features(model, data)
    assert feats.shape == (12, 16)
    assert labels.tolist() == [i % 3 for i in range(12)]
    assert model.training  # restored
    model.eval()
    with torch.no_grad():
        per_view = model(data[0]['inputs'], data[0]['data_samples'])
    mean = (per_view['kinectv2_25'] + per_view['smplx_42']) / 2
    assert torch.allclose(feats[:4], mean, atol=1e-6)
    only, _ = extract_features(model, data, view='smplx_42')
    assert torch.allclose(only[:4], per_view['smplx_42'], atol=1e-6)


class ListLoader:
    """A dataloader stand-in: batches plus a dataset length."""

    def __init__(self, items, size):
        self.items, self.dataset = items, range(size)

    def __iter__(self):
        return iter(self.items)


class _Visualizer:
    def __init__(self):
        self.scalars = []

    def add_scalars(self, scalars, step):
        self.scalars.append((step, scalars))


def fake_runner(model, epoch):
    logger = logging.getLogger('eval5_knn_hook_test')
    return SimpleNamespace(
        model=model,
        epoch=epoch,
        iter=3 * (epoch + 1),
        max_epochs=10,
        logger=logger,
        visualizer=_Visualizer(),
        message_hub=MessageHub.get_instance('eval5_knn_hook_test'))


def test_knn_hook_logs_top1_and_tolerates_missing_loaders(caplog):
    model = tiny_model()
    idle = HOOKS.build(dict(type='KNNMonitorHook'))
    runner = fake_runner(model, epoch=0)
    with caplog.at_level(logging.WARNING, logger=runner.logger.name):
        idle.before_train(runner)
        idle.after_train_epoch(runner)
    assert 'disabled' in caplog.text
    assert 'knn/top1' not in runner.message_hub.log_scalars

    hook = HOOKS.build(dict(type='KNNMonitorHook', interval=2, k=3))
    bank, queries = batches(2), batches(1)
    hook._loaders = (ListLoader(bank, 8), ListLoader(queries, 4))
    hook.after_train_epoch(fake_runner(model, epoch=0))  # epoch 1: skipped
    assert 'knn/top1' not in runner.message_hub.log_scalars
    hook.after_train_epoch(runner := fake_runner(model, epoch=1))
    top1 = runner.message_hub.get_scalar('knn/top1').current()
    assert 0.0 <= top1 <= 1.0
    # also to the backends (scalars.json), by iteration
    assert runner.visualizer.scalars == [(6, {'knn/top1': top1, 'epoch': 2, 'iter': 6})]
    # The library on the same features gives the same value.
    (bf, bl), (qf, ql) = (extract_features(model, d) for d in (bank, queries))
    assert knn_classify(bf, bl, qf, k=3, test_labels=ql)[1] == top1


def test_semi_subset_balanced_and_seeded():
    labels = np.repeat(np.arange(5), [100, 50, 20, 7, 1])
    idx = select_labelled_subset(labels, 0.1, seed=3)
    counts = np.bincount(labels[idx], minlength=5)
    assert counts.tolist() == [10, 5, 2, 1, 1]
    assert len(np.unique(idx)) == len(idx)
    assert np.array_equal(idx, select_labelled_subset(labels, 0.1, seed=3))
    assert not np.array_equal(idx, select_labelled_subset(labels, 0.1, seed=4))
    assert len(select_labelled_subset(labels, 1.0)) == len(labels)
    with pytest.raises(ValueError, match='fraction'):
        select_labelled_subset(labels, 0)


def test_confusion_matrix_tool(tmp_path):
    spec = importlib.util.spec_from_file_location(
        'confusion_matrix', ROOT / 'tools' / 'analysis' / 'confusion_matrix.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    dump = write_dump(tmp_path / 'j.pkl', JOINT, LABELS)
    report = tool.main([dump, '--out', str(tmp_path / 'cm')])
    assert report['top1'] == 0.75
    assert [r['accuracy'] for r in report['per_class']] == [1.0, 1.0, 0.5]
    assert (tmp_path / 'cm.png').read_bytes()[:4] == b'\x89PNG'


class _ToyDataset(torch.utils.data.Dataset):
    """Labelled two-view items whose class shifts every x coordinate."""

    def __init__(self, n, seed, pipeline=None):
        g = torch.Generator().manual_seed(seed)
        self.labels = torch.arange(n) % 3
        shift = (self.labels.float() - 1)[:, None, None, None, None] * 3
        self.data = {
            c: torch.randn(n, 2, 20, v, 3, generator=g) * 0.1 + shift *
            torch.tensor([1., 0, 0])
            for c, v in (('kinectv2_25', 25), ('smplx_42', 42))
        }

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        ds = ActionDataSample().set_gt_label(int(self.labels[i]))
        ds.set_metainfo(
            dict(skeletons={c: c for c in self.data}, clip_name=f'c{i}'))
        return dict(inputs={c: x[i] for c, x in self.data.items()},
                    data_samples=ds)


def _toy_collate(items):
    return dict(
        inputs={
            v: torch.stack([it['inputs'][v] for it in items])
            for v in items[0]['inputs']
        },
        data_samples=[it['data_samples'] for it in items])


def test_knn_eval_tool_on_a_pretraining_checkpoint(tmp_path):
    from mmaction.registry import DATASETS
    from mmengine.registry import FUNCTIONS
    DATASETS.register_module('Eval5ToyDataset', module=_ToyDataset,
                             force=True)
    FUNCTIONS.register_module('eval5_toy_collate', module=_toy_collate,
                              force=True)
    model = tiny_model()
    model.init_weights()
    state = {'backbone.' + k: v for k, v in model.backbone.state_dict().items()}
    state['queue'] = torch.randn(16, 8)
    torch.save(dict(state_dict=state, meta={}), tmp_path / 'pre.pth')

    def loader(seed):
        return dict(
            batch_size=8,
            num_workers=0,
            dataset=dict(type='Eval5ToyDataset', n=24, seed=seed),
            sampler=dict(type='DefaultSampler', shuffle=True),
            collate_fn=dict(type='eval5_toy_collate'))

    cfg = tmp_path / 'cfg.py'
    cfg.write_text(
        'default_scope = "mmaction"\n'
        f'model = {tiny_model_cfg()!r}\n'
        f'train_dataloader = {loader(0)!r}\n'
        f'val_dataloader = {loader(1)!r}\n')
    tool = load_tool('knn_eval')
    top1 = tool.main([str(cfg), str(tmp_path / 'pre.pth'), '--k', '5',
                      '--out', str(tmp_path / 'knn.json')])
    # Classes differ by a 3-unit x shift: even a random encoder separates
    # them.
    assert top1 == 1.0
    assert json.loads((tmp_path / 'knn.json').read_text())['num_bank'] == 24
