"""t-SNE (msclr_plugin.visualization.tsne) and the results-page tools
tools/analysis/plot_embeddings.py and tools/analysis/plot_curves.py."""
import importlib.util
import json

import numpy as np
import pytest
import torch

from msclr_plugin.visualization import tsne
from msclr_plugin.visualization.tsne import (_conditional_affinities,
                                             _squared_distances)
from .conftest import ROOT
from .test_dataset import CONVS, make_store

PNG_MAGIC = b'\x89PNG'


def load_tool(name):
    spec = importlib.util.spec_from_file_location(
        f'_analysis_{name}', ROOT / 'tools' / 'analysis' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def one_thread():
    # the 2 cores are shared with other jobs: two-thread small ops mostly
    # wait on each other there, one thread keeps the exact t-SNE fast
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def clusters(per=40, dims=64, seed=0):
    """Three Gaussian clusters 10 sigma apart, in more than the 50 PCA
    dimensions."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(3), per)
    return rng.normal(size=(3 * per, dims)) + 10 * np.eye(dims)[labels], labels


def nn_accuracy(coords, labels):
    dist = ((coords[:, None] - coords[None]) ** 2).sum(-1)
    np.fill_diagonal(dist, np.inf)
    return float((labels[dist.argmin(1)] == labels).mean())


def test_affinities_meet_the_perplexity():
    x, _ = clusters()
    p = _conditional_affinities(_squared_distances(torch.tensor(x)), 15.)
    assert torch.allclose(p.sum(1), torch.ones(len(x), dtype=p.dtype))
    assert (p.diagonal() == 0).all()
    entropy = -(p * p.clamp(min=1e-300).log()).sum(1)
    assert torch.allclose(entropy.exp(), torch.full_like(entropy, 15.),
                          rtol=1e-3)


def test_tsne_separates_clusters_and_is_seeded(one_thread):
    x, labels = clusters()
    coords = tsne(x, perplexity=20., seed=0)
    assert coords.shape == (len(x), 2) and coords.dtype == np.float32
    assert np.isfinite(coords).all()
    assert nn_accuracy(coords, labels) > 0.95
    # the three clusters are apart in the map: each centre is farther from
    # the others than its points are from it, on average
    centres = np.stack([coords[labels == c].mean(0) for c in range(3)])
    spread = max(np.linalg.norm(coords[labels == c] - centres[c], axis=1).mean()
                 for c in range(3))
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=-1)
    assert gaps[~np.eye(3, dtype=bool)].min() > 2 * spread
    np.testing.assert_array_equal(coords, tsne(x, perplexity=20., seed=0))
    other = tsne(torch.tensor(x), perplexity=20., seed=1, num_iters=50)
    assert not np.allclose(other, tsne(x, perplexity=20., seed=0, num_iters=50))


def test_tsne_rejects_bad_input():
    x, _ = clusters(per=3)
    with pytest.raises(ValueError, match='9 points are too few for perplexity 30'):
        tsne(x)
    bad = x.copy()
    bad[2, 5] = np.nan
    with pytest.raises(ValueError, match='NaN or infinite'):
        tsne(bad, perplexity=2.)
    with pytest.raises(ValueError, match=r'\(N, D\)'):
        tsne(x[0], perplexity=2.)
    with pytest.raises(ValueError, match='positive'):
        tsne(x, perplexity=0.)


def write_run(work_dir, stamp, records):
    path = work_dir / stamp / 'vis_data'
    path.mkdir(parents=True)
    (path / 'scalars.json').write_text(
        ''.join(json.dumps(r) + '\n' for r in records))


def train_record(it, loss, epoch):
    return dict(lr=0.1, loss=loss, loss_nce=loss / 2, epoch=epoch, iter=it,
                step=it)


def test_plot_curves(tmp_path):
    tool = load_tool('plot_curves')
    a, b = tmp_path / 'a', tmp_path / 'b'
    write_run(a, '20260101_000000',
              [train_record(i, 10. - i, 1 + i // 5) for i in (5, 10, 15)] +
              [{'knn/top1': 0.2, 'step': 1}, {'knn/top1': 0.4, 'step': 2}])
    # b was resumed: its second run redoes iteration 10 and goes on
    write_run(b, '20260101_000000', [train_record(5, 9., 1),
                                     train_record(10, 99., 2)])
    write_run(b, '20260102_000000', [train_record(10, 8., 2),
                                     train_record(15, 7., 3)])
    out = tmp_path / 'fig' / 'curves.png'
    curves = tool.main([str(a), str(b), '--keys', 'loss', 'loss_nce',
                        'knn/top1', '--labels', 'A', 'B', '--out', str(out)])
    assert out.read_bytes()[:4] == PNG_MAGIC
    assert curves['loss']['A'] == ([5, 10, 15], [5., 0., -5.])
    assert curves['loss']['B'] == ([5, 10, 15], [9., 8., 7.])
    assert curves['loss_nce']['B'][1] == [4.5, 4., 3.5]
    # val-like records are indexed by their step (epoch); b has none
    assert curves['knn/top1'] == {'A': ([1, 2], [0.2, 0.4])}

    with pytest.raises(SystemExit, match="'acc/top1' is in none of"):
        tool.main([str(a), '--keys', 'loss', 'acc/top1', '--out', str(out)])
    with pytest.raises(SystemExit, match=f'{tmp_path / "c"} has no'):
        tool.main([str(a), str(tmp_path / 'c'), '--out', str(out)])
    with pytest.raises(SystemExit, match='1 labels for 2 work dirs'):
        tool.main([str(a), str(b), '--labels', 'A', '--out', str(out)])


EMBED_CONFIG = '''
default_scope = 'mmaction'
model = dict(
    type='MSRecognizerGCN',
    backbone=dict(
        type='MSSTGCN',
        graph_cfg=dict(type='MultiSkeletonGraph', layouts={layouts!r}),
        channels=(8, 8, 16, 16), num_stages=4, down_stages=(3, ),
        frozen_stages=4),
    cls_head=dict(type='MSLinearHead', num_classes=3, in_channels=16),
    data_preprocessor=dict(type='MultiSkeletonDataPreprocessor'))
test_dataloader = dict(
    batch_size=4, num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='MultiSkeletonDataset', ann_file={store!r}, split='val',
        mode='kinectv2_25', test_mode=True,
        pipeline=[
            dict(type='MSMultiView',
                 common=[dict(type='MSResample', clip_len=12),
                         dict(type='MSPersonPadding', num_person=1)],
                 default=[]),
            dict(type='PackMultiSkeletonInputs')]))
'''


def test_plot_embeddings_end_to_end(tmp_path, one_thread):
    from mmaction.registry import MODELS
    tool = load_tool('plot_embeddings')
    store = make_store(tmp_path / 'store', num_clips=12)
    config = tmp_path / 'cfg.py'
    config.write_text(EMBED_CONFIG.format(layouts=list(CONVS), store=store))
    torch.manual_seed(0)
    encoder = MODELS.build(
        dict(type='MSSTGCN',
             graph_cfg=dict(type='MultiSkeletonGraph', layouts=list(CONVS)),
             channels=(8, 8, 16, 16), num_stages=4, down_stages=(3, )))
    encoder.init_weights()
    state = {'backbone.' + k: v for k, v in encoder.state_dict().items()}
    torch.save(dict(state_dict=state, meta={}), tmp_path / 'pre.pth')

    out = tmp_path / 'maps' / 'tsne.png'
    # 6 val clips; 15 points at most: 5 clips in each of the 3 conventions
    tool.main([str(config), str(tmp_path / 'pre.pth'), '--out', str(out),
               '--max-points', '15', '--perplexity', '4'])
    assert out.read_bytes()[:4] == PNG_MAGIC
    saved = np.load(tmp_path / 'maps' / 'tsne.npz')
    assert saved['coords'].shape == (15, 2)
    assert np.isfinite(saved['coords']).all()
    convs, counts = np.unique(saved['conventions'], return_counts=True)
    assert set(convs) == set(CONVS) and counts.tolist() == [5, 5, 5]
    names = saved['clip_names']
    # each chosen clip once per convention, with its store label (i % 3)
    assert set(np.unique(names, return_counts=True)[1]) == {3}
    assert all(int(n[4:]) % 2 == 1 for n in names)  # the val split
    np.testing.assert_array_equal(saved['labels'],
                                  [int(n[4:]) % 3 for n in names])

    with pytest.raises(SystemExit, match='has no val_dataloader'):
        tool.main([str(config), str(tmp_path / 'pre.pth'), '--out', str(out),
                   '--split-dataloader', 'val'])
    with pytest.raises(SystemExit, match='15 points are too few'):
        tool.main([str(config), str(tmp_path / 'pre.pth'), '--out', str(out),
                   '--max-points', '15'])
