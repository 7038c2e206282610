"""tools/benchmark.py runs end to end at CI size (numbers are not checked)."""
import importlib.util
import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _benchmark():
    spec = importlib.util.spec_from_file_location(
        'msclr_benchmark', ROOT / 'tools' / 'benchmark.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_step_quick(tmp_path):
    out = tmp_path / 'bench.json'
    # one thread: CI machines are often shared, where OpenMP threads stall
    results = _benchmark().main([
        'step', '--quick', '--malloc-tuned', '--threads', '1', '--out',
        str(out)
    ])
    assert [r['mode'] for r in results] == ['single', 'grouped', 'padded']
    for r in results:
        assert r['batch'] == 2 and r['clips_per_s'] > 0
        assert r['variant'] == 'fp32' and not r['cuda_graph']
        assert math.isfinite(r['loss']) and r['peak_rss_mb'] > 0
        assert r['minor_faults_per_step'] >= 0
        # CPU seconds of the process per wall second of its steps
        assert 0 < r['cpu_util'] <= 1.5  # one thread (+ a little spill)
        assert r['machine_busy'] is None or 0 <= r['machine_busy'] <= 1
    assert results[0]['conventions'] == ['kinectv2_25']
    assert results[1]['conventions'] == ['kinectv2_25', 'smplx_42']
    saved = json.loads(out.read_text())
    assert len(saved['results']) == 3 and saved['args']['malloc_tuned']
    assert any('grouped / padded' in line for line in saved['summary'])


def test_benchmark_step_recompute_side_by_side():
    """--gcn-recompute off on: a process each, interleaved, --repeat times."""
    results = _benchmark().main([
        'step', '--quick', '--threads', '1', '--modes', 'grouped', 'padded',
        '--gcn-recompute', 'off', 'on', '--repeat', '2'
    ])
    assert [(r['repeat'], r['mode'], r['gcn_recompute'])
            for r in results] == [(rep, mode, rc) for rep in (0, 1)
                                  for mode in ('grouped', 'padded')
                                  for rc in ('off', 'on')]
    summary = _benchmark().summarise(results)
    assert sum('grouped / padded' in line for line in summary) == 4
    assert sum('recompute=on / fp32 recompute=off' in line
               for line in summary) == 4
    # grouped with recompute against padded as the reference runs it
    assert sum("recompute=on / padded fp32 recompute=off (the reference's "
               'form)' in line for line in summary) == 2


def test_benchmark_step_variants_own_processes():
    """Each variant in its own process: peak RSS is a process's maximum, so
    a variant run after another would carry the other's peak."""
    results = _benchmark().main([
        'step', '--quick', '--threads', '1', '--modes', 'grouped', 'padded',
        '--variants', 'fp32', 'bf16'
    ])
    assert [(r['mode'], r['variant']) for r in results] == [
        ('grouped', 'fp32'), ('grouped', 'bf16'), ('padded', 'fp32'),
        ('padded', 'bf16')]
    assert len({r['pid'] for r in results}) == 4
    assert all(math.isfinite(r['loss']) for r in results)
    summary = _benchmark().summarise(results)
    assert sum("grouped bf16 / padded fp32 (the reference's form)" in line
               for line in summary) == 1


def test_benchmark_layers_quick():
    results = _benchmark().main(['layers', '--quick', '--threads', '1'])
    assert [r['case'] for r in results] == ['dropout', 'graph', 'recompute']
    assert all(r['plain_ms'] > 0 and r['fast_ms'] > 0 for r in results)


def test_benchmark_data_quick():
    results = _benchmark().main(['data', '--quick'])
    assert results[0]['kind'] == 'data' and results[0]['samples_per_s'] > 0


def test_benchmark_scale_quick(tmp_path):
    out, stores = tmp_path / 'scale.json', tmp_path / 'stores'
    results = _benchmark().main([
        'scale', '--quick', '--threads', '1', '--store', str(stores), '--out',
        str(out)
    ])
    assert len(results) == 1
    r = results[0]
    assert r['kind'] == 'scale' and r['clips'] == 200 and r['items'] == 400
    assert r['conventions'] == ['kinectv2_25', 'smplx_42']
    assert r['batches'] == 2 and r['batch'] == 2 and len(r['workers']) == 2
    # frames x persons x joints x xyz float32, both conventions (+ headers)
    assert r['store_bytes'] > 200 * 8 * 2 * (25 + 42) * 3 * 4
    assert r['store_write_s'] > 0 and r['open_s'] > 0 and r['read_s'] > 0
    for mem in r['workers'] + [r['main'], r['main_opened'], r['worker_mean']]:
        assert mem['rss_mb'] >= mem['pss_mb'] >= mem['uss_mb'] > 0
    assert json.loads(out.read_text())['results'][0]['clips'] == 200
    assert (stores / 'scale_200c_8f_2m_kinectv2_25_smplx_42' /
            'index.json').is_file()  # kept for reuse


def test_benchmark_collate_quick():
    results = _benchmark().main(['collate', '--quick', '--threads', '1'])
    assert [r['collate'] for r in results] == [
        'pseudo_collate', 'multi_skeleton_collate']
    for r in results:
        assert r['batch'] == 2 and r['batches'] == 2 and r['workers'] == 2
        assert r['receive_cpu_ms'] > 0 and r['preprocess_cpu_ms'] >= 0
