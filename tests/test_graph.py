import numpy as np
import pytest

from msclr_plugin.models.graphs import MultiSkeletonGraph, adjacency
from msclr_plugin.skeletons import get_layout


@pytest.mark.parametrize('layout', ['nturgb+d', 'coco', 'openpose'])
@pytest.mark.parametrize('mode', ['stgcn_spatial', 'spatial', 'binary_adj'])
def test_reproduces_mmaction_graph(layout, mode):
    from mmaction.models.utils import Graph
    ours = adjacency(layout, mode)
    theirs = Graph(layout=layout, mode=mode).A
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


def test_max_hop_two_matches_mmaction():
    from mmaction.models.utils import Graph
    np.testing.assert_allclose(
        adjacency('nturgb+d', 'stgcn_spatial', max_hop=2),
        Graph(layout='nturgb+d', mode='stgcn_spatial', max_hop=2).A)


def test_truncated_partition_differs_from_full():
    # ST-GCN truncates hop distances at max_hop: far edges are all centripetal
    trunc = adjacency('kinectv2_25', 'stgcn_spatial')
    full = adjacency('kinectv2_25', 'stgcn_spatial_full')
    np.testing.assert_allclose(trunc.sum(0), full.sum(0))
    assert (trunc[2] > 0).sum() < (full[2] > 0).sum()
    layout = get_layout('kinectv2_25')
    hand, wrist = layout.index('HandLeft'), layout.index('WristLeft')
    # centrifugal: the message from the wrist (nearer the centre) to the hand
    assert full[2][wrist, hand] > 0 and trunc[2][wrist, hand] == 0
    assert trunc[1][wrist, hand] > 0


def test_columns_normalised_and_isolated_joints():
    A = adjacency('smplx_42').sum(0)
    np.testing.assert_allclose(A.sum(0), 1.0)
    eye = get_layout('smplx_42').index('leyehf')
    assert A[eye, eye] == 1.0 and A[:, eye].sum() == 1.0


def test_multi_graph_padding_and_masks():
    graph = MultiSkeletonGraph(['kinectv2_25', 'smplx_42', 'coco'])
    assert graph.A.shape == (3, 3, 42, 42)
    assert graph.mask.sum(1).tolist() == [25, 42, 17]
    assert not graph.A[0, :, 25:, :].any() and not graph.A[0, :, :, 25:].any()
    np.testing.assert_allclose(graph.native('coco'), adjacency('coco'), atol=1e-7)
    assert graph.index('smplx_42') == 1
    with pytest.raises(KeyError, match='not one of'):
        graph.index('smpl_24')
    with pytest.raises(ValueError, match='duplicate'):
        MultiSkeletonGraph(['coco', 'coco'])


def test_graph_registered():
    from mmaction.registry import MODELS
    graph = MODELS.build(
        dict(type='MultiSkeletonGraph', layouts='smpl_24', mode='spatial'))
    assert graph.A.shape == (1, 3, 24, 24)
