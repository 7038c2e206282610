"""The skeleton-specific ensemble rule as a visible choice: 'logits' (the
authors' code, behind the published numbers) or 'softmax' (the paper's
text), in the head, in msclr_plugin.evaluation.fusion and in
tools/ensemble.py; the two rules can rank differently."""
import numpy as np
import pytest
import torch

from msclr_plugin.evaluation.fusion import ensemble_views, fuse_dumps
from msclr_plugin.models.heads import MSLinearHead
from .conftest import load_tool
from .test_eval_fusion_knn import write_dump

# two conventions' logits of one clip: the mean logits pick class 1, the
# mean softmax class 0 (view A is sure of 0, view B leans to 1)
VIEW_A = np.array([[6., 0., 0.]])
VIEW_B = np.array([[-6., 2., 0.]])


def test_rules_differ_and_follow_their_definitions():
    logits = ensemble_views([VIEW_A, VIEW_B], 'logits')
    np.testing.assert_allclose(logits, [[0., 1., 0.]])
    soft = ensemble_views([VIEW_A, VIEW_B], 'softmax')
    mean = (np.exp(VIEW_A) / np.exp(VIEW_A).sum() +
            np.exp(VIEW_B) / np.exp(VIEW_B).sum()) / 2
    np.testing.assert_allclose(soft, np.log(mean), rtol=1e-12)
    assert logits.argmax() == 1 and soft.argmax() == 0
    with pytest.raises(ValueError, match='ensemble rule'):
        ensemble_views([VIEW_A], 'mean')


@pytest.mark.parametrize('rule', ['logits', 'softmax'])
def test_offline_rule_equals_the_head(rule):
    """Per-convention dumps fused offline give the head's ensemble scores."""
    torch.manual_seed(0)
    head = MSLinearHead(num_classes=4, in_channels=6,
                        skeletons=['kinectv2_25', 'smplx_42'], view_fusion=rule)
    feats = [torch.randn(5, 6), torch.randn(5, 6)]
    with torch.no_grad():
        fused = head.fuse_views(feats, ['kinectv2_25', 'smplx_42']).double()
        views = [head(f, s).double().numpy()
                 for f, s in zip(feats, ['kinectv2_25', 'smplx_42'])]
    np.testing.assert_allclose(ensemble_views(views, rule), fused.numpy(),
                               rtol=1e-5, atol=1e-6)


def test_ensemble_tool_rule(tmp_path, capsys):
    labels = np.array([0])
    a = write_dump(tmp_path / 'kinect.pkl', VIEW_A, labels)
    b = write_dump(tmp_path / 'smplx.pkl', VIEW_B, labels)
    tool = load_tool('ensemble')
    assert tool.main([f'{a}+{b}'])['top1'] == 0.0  # default: logits
    assert 'ensemble rule logits' in capsys.readouterr().out
    assert tool.main([f'{a}+{b}', '--ensemble-rule', 'softmax'])['top1'] == 1.0
    assert 'ensemble rule softmax' in capsys.readouterr().out
    # a group of views fused with another stream: each group first
    result = fuse_dumps([[a, b], a], weights=[1, 0], ensemble_rule='softmax')
    assert result['report']['top1'] == 1.0
    # a file whose name holds '+' is one dump
    plus = write_dump(tmp_path / 'j+m.pkl', VIEW_A, labels)
    assert fuse_dumps([plus])['report']['top1'] == 1.0
    with pytest.raises(SystemExit, match='raw scores'):
        tool.main([f'{a}+{b}', '--scores', 'prob'])
