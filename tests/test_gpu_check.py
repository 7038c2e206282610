"""tools/gpu_check.py runs every phase end to end, CI-sized on CPU
(numbers are not checked: they are the script's output, not a test)."""
import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_check_quick_on_cpu(tmp_path):
    spec = importlib.util.spec_from_file_location(
        'msclr_gpu_check', ROOT / 'tools' / 'gpu_check.py')
    gpu_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gpu_check)
    assert gpu_check.main(
        ['--device', 'cpu', '--quick', '--out', str(tmp_path)]) == 0
    report = json.loads((tmp_path / 'gpu_check.json').read_text())
    assert report['env']['python'] and report['env']['torch']
    tests = report['tests']
    assert tests['counts']['skipped'] >= 11, tests['tail']
    assert tests['counts']['failed'] == tests['counts']['error'] == 0
    assert all('no CUDA device' in t['detail'] for t in tests['tests'])
    steps = report['steps']['results']
    assert [(r['mode'], r['variant']) for r in steps] == [
        (m, v) for m in ('single', 'grouped', 'padded')
        for v in ('fp32', 'bf16+graph')]
    for r in steps:
        assert 'error' not in r, r['error']
        assert r['clips_per_s'] > 0 and r['cpu_util'] > 0
        assert r['graphs_captured'] == 0  # no CUDA: the graph step is eager
    assert steps[0]['gflop_per_step'] > 0
    epoch = report['epoch']
    assert epoch['store']['clips'] == 240
    cut, = epoch['slices']
    assert 'error' not in cut, cut['error']
    assert cut['config'].endswith('ms_aimclr_ntu60_xsub_fast.py')
    # 170 training clips x 2 conventions in grouped batches of 2 (each
    # convention pair drops its last odd item)
    assert 166 <= cut['iters_per_epoch'] <= 170 and cut['max_epochs'] == 300
    assert cut['projected_s'] == pytest.approx(
        cut['iter_s_mean'] * cut['iters_per_epoch'] * 300)
    assert 0 <= cut['data_wait_share'] <= 1 and cut['measured_iters'] == 1
    loader, = epoch['loader']
    assert 'error' not in loader, loader['error']
    assert loader['items_per_s'] > 0
    text = (tmp_path / 'gpu_check.md').read_text()
    for heading in ('## Environment', '## CUDA tests', '## Step benchmark',
                    '## Epoch slice'):
        assert heading in text
    assert (tmp_path / 'cuda_tests.xml').is_file()


def test_a_child_that_hangs_after_its_result_keeps_it():
    # on the H200 a slice's 12 persistent dataloader workers kept the child
    # "running" after its RESULT line until the phase's time limit
    from tests.conftest import load_tool
    benchmark = load_tool('benchmark')
    code = ('import time; print("RESULT {\\"x\\": 1}", flush=True); '
            'time.sleep(60)')
    r, = benchmark.run_children([sys.executable, '-c', code], dict(os.environ),
                                'hang', timeout=5)
    assert r['x'] == 1 and 'did not exit within 5 s' in r['warning']
    with pytest.raises(RuntimeError, match='ran past 5 s'):
        benchmark.run_children([sys.executable, '-c', 'import time; '
                                'time.sleep(60)'], dict(os.environ), 'hang',
                               timeout=5)
