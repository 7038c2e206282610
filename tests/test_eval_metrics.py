"""MSAccMetric and the accuracy helpers on hand-made examples."""
import json

import numpy as np
import pytest
import torch

import msclr_plugin  # noqa: F401
from mmaction.registry import METRICS
from msclr_plugin.evaluation.accuracy import (confusion_matrix,
                                              mean_class_accuracy,
                                              per_class_accuracy,
                                              topk_accuracy)

# 6 items, 6 classes. Ranks of the true class: 1, 2, 1, 6, 1, 3.
SCORES = np.array([
    [.9, .05, .01, .01, .01, .02],  # label 0: top-1
    [.5, .4, .02, .03, .03, .02],  # label 1: 2nd
    [.1, .1, .6, .1, .05, .05],  # label 2: top-1
    [.3, .2, .2, .0, .1, .2],  # label 3: last
    [.1, .1, .1, .1, .5, .1],  # label 4: top-1
    [.2, .4, .0, .0, .05, .35],  # label 0: 3rd
], dtype=np.float32)
LABELS = np.array([0, 1, 2, 3, 4, 0])
CONVS = ['kinectv2_25', 'kinectv2_25', 'smplx_42', 'smplx_42', 'smplx_42',
         'kinectv2_25']


def test_accuracy_helpers():
    assert topk_accuracy(SCORES, LABELS, 1) == pytest.approx(3 / 6)
    assert topk_accuracy(SCORES, LABELS, 2) == pytest.approx(4 / 6)
    assert topk_accuracy(SCORES, LABELS, 5) == pytest.approx(5 / 6)
    # classes 0: 1/2, 1: 0, 2: 1, 3: 0, 4: 1, 5: no sample (ignored)
    per_class = per_class_accuracy(SCORES, LABELS)
    np.testing.assert_allclose(per_class[:5], [.5, 0, 1, 0, 1])
    assert np.isnan(per_class[5])
    assert mean_class_accuracy(SCORES, LABELS) == pytest.approx(2.5 / 5)
    matrix = confusion_matrix(SCORES.argmax(1), LABELS, 6)
    assert matrix.sum() == 6 and matrix[1, 0] == 1 and matrix[0, 0] == 1
    with pytest.raises(ValueError, match='labels'):
        topk_accuracy(SCORES, LABELS[:3])


def predictions(convs=CONVS):
    return [
        dict(
            pred_score=torch.from_numpy(s),
            gt_label=torch.tensor([int(l)]),
            skeletons={'v': c} if isinstance(c, str) else c)
        for s, l, c in zip(SCORES, LABELS, convs)
    ]


def test_ms_acc_metric_values_and_per_convention():
    metric = METRICS.build(dict(type='MSAccMetric'))
    metric.dataset_meta = {}
    metric.process({}, predictions())
    result = metric.evaluate(6)
    assert result['acc/top1'] == pytest.approx(0.5)
    assert result['acc/top5'] == pytest.approx(5 / 6)
    assert result['acc/mean_class_accuracy'] == pytest.approx(0.5)
    assert result['acc/top1_kinectv2_25'] == pytest.approx(1 / 3)
    assert result['acc/top1_smplx_42'] == pytest.approx(2 / 3)


def test_ensemble_items_have_no_per_convention_split():
    both = {'kinectv2_25': 'kinectv2_25', 'smplx_42': 'smplx_42'}
    metric = METRICS.build(dict(type='MSAccMetric'))
    metric.process({}, predictions([both] * 6))
    result = metric.evaluate(6)
    assert not any('top1_' in k for k in result)
    assert result['acc/top1'] == pytest.approx(0.5)


def test_reports_written(tmp_path):
    classes = [f'action{i}' for i in range(6)]
    metric = METRICS.build(
        dict(type='MSAccMetric', out_dir=str(tmp_path), classes=classes))
    metric.process({}, predictions())
    metric.evaluate(6)
    rows = json.loads((tmp_path / 'acc_per_class_accuracy.json').read_text())
    assert [r['name'] for r in rows] == classes
    assert rows[0]['accuracy'] == pytest.approx(0.5)
    assert rows[0]['support'] == 2
    assert rows[5]['accuracy'] is None
    png = tmp_path / 'acc_confusion_matrix.png'
    assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_auto_out_dir_needs_a_runner_log():
    from mmengine.logging import MMLogger
    # a current logger with no log file, whatever earlier tests' runners left
    MMLogger.get_instance('msacc_without_runner', log_level='WARNING')
    metric = METRICS.build(dict(type='MSAccMetric', out_dir='auto'))
    metric.process({}, predictions())
    with pytest.raises(RuntimeError, match='out_dir'):
        metric.evaluate(6)


def test_mmaction_acc_metric_still_agrees():
    ours = METRICS.build(dict(type='MSAccMetric'))
    theirs = METRICS.build(dict(type='AccMetric'))
    for metric in (ours, theirs):
        metric.process({}, predictions())
    a, b = ours.evaluate(6), theirs.evaluate(6)
    assert a['acc/top1'] == pytest.approx(b['acc/top1'])
    assert a['acc/top5'] == pytest.approx(b['acc/top5'])
    assert a['acc/mean_class_accuracy'] == pytest.approx(b['acc/mean1'])
