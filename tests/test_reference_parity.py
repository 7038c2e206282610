"""This project's encoder IS the reference encoder, weight for weight.

The fixtures (../shared/reference/parity, read at run time, never copied;
their README says how the reference code made them) hold AimCLR's and
MS-CLR's query encoders (ST-GCN + projector, eval mode), an input in the
references' (N, C, T, V, M) layout and the outputs. Each state dict goes
through tools/convert_checkpoint.py; the encoder and projector of the
project's configs load the result strictly and must reproduce the
projector output and the pooled features within 1e-5.
"""
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmaction.registry import MODELS
from msclr_plugin.models.recognizers.ms_recognizer_gcn import embed
from msclr_plugin.models.checkpoint_convert import (_graph_error,
                                                    checkpoint_state,
                                                    convert_reference)
from msclr_plugin.utils.checkpoint import (CheckpointError,
                                           load_checkpoint_strict)
from .conftest import ROOT, SHARED
from .test_checkpoints import tool

PARITY = SHARED / 'reference' / 'parity'
ATOL = 1e-5


@pytest.fixture(scope='module')
def converted(tmp_path_factory):
    if not PARITY.is_dir():
        pytest.skip(f'reference fixtures {PARITY} are absent')
    convert = tool('convert_checkpoint')
    out = {}
    for name in ('aimclr_encoder', 'msclr_flex_encoder'):
        path = tmp_path_factory.mktemp('parity') / f'{name}.pth'
        convert.main([str(PARITY / f'{name}.pt'), str(path)])
        out[name] = (torch.load(PARITY / f'{name}.pt', weights_only=True),
                     str(path))
    return out


def encoder(path, layouts):
    """The configs' AimCLR encoder and projector with the converted
    weights, in eval mode."""
    enc = Config.fromfile(str(ROOT / 'configs/_base_/models/aimclr_encoder.py'))
    neck = Config.fromfile(str(ROOT / 'configs/_base_/models/ms_aimclr.py'))
    backbone = MODELS.build(
        dict(enc.encoder, graph_cfg=dict(enc.encoder.graph_cfg,
                                         layouts=layouts)))
    projector = MODELS.build(neck.model.neck)
    load_checkpoint_strict(backbone, path, prefix='backbone.', logger='silent')
    load_checkpoint_strict(projector, path, prefix='neck.', logger='silent')
    return backbone.eval(), projector.eval()


@torch.no_grad()
def run(backbone, projector, x, skeleton):
    """(features, output) of a reference-layout (N, C, T, V, M) input."""
    x = x.permute(0, 4, 2, 3, 1).contiguous()  # -> (N, M, T, V, C)
    feat = backbone(x, skeleton)
    pooled = projector.pool(
        feat, backbone.joint_mask(skeleton, x.shape[0], x.shape[3]))
    return pooled, projector(pooled)


def max_diffs(got, ref_feat, ref_out):
    return ((got[0] - ref_feat).abs().max().item(),
            (got[1] - ref_out).abs().max().item())


def test_aimclr_encoder_with_projector(converted):
    ref, path = converted['aimclr_encoder']
    assert ref['layout'] == 'N,C,T,V,M'
    backbone, projector = encoder(path, ['kinectv2_25'])
    diffs = max_diffs(run(backbone, projector, ref['input'], 'kinectv2_25'),
                      ref['features'], ref['output'])
    print(f'AimCLR max |diff|: features {diffs[0]:.2e}, output {diffs[1]:.2e}')
    assert max(diffs) < ATOL


def test_msclr_flex_model_both_skeletons_padded_to_42(converted):
    ref, path = converted['msclr_flex_encoder']
    assert ref['skeletons'] == ['ntu-rgb+d', 'smplx_42']
    assert ref['padded_V'] == 42
    backbone, projector = encoder(path, ['kinectv2_25', 'smplx_42'])
    convs = {'ntu-rgb+d': 'kinectv2_25', 'smplx_42': 'smplx_42'}
    for name, conv in convs.items():
        x = ref['inputs'][name]
        assert x.shape[3] == 42  # ntu zero-padded from 25 joints
        diffs = max_diffs(run(backbone, projector, x, conv),
                          ref['features'][name], ref['outputs'][name])
        print(f'MS-CLR {name} (42 joints) max |diff|: features '
              f'{diffs[0]:.2e}, output {diffs[1]:.2e}')
        assert max(diffs) < ATOL, name
    # one batch mixing both skeletons, and ntu at its native 25 joints
    mixed = torch.cat([ref['inputs'][n][:2] for n in convs])
    got = run(backbone, projector, mixed,
              [c for c in convs.values() for _ in range(2)])
    assert max(max_diffs(
        got, torch.cat([ref['features'][n][:2] for n in convs]),
        torch.cat([ref['outputs'][n][:2] for n in convs]))) < ATOL
    native = run(backbone, projector, ref['inputs']['ntu-rgb+d'][:, :, :, :25],
                 'kinectv2_25')
    assert max(max_diffs(native, ref['features']['ntu-rgb+d'],
                         ref['outputs']['ntu-rgb+d'])) < ATOL


def test_reference_graphs_are_the_layouts_graphs(converted):
    """The reference A buffers equal the adjacency MSSTGCN builds from the
    layouts, so the converter need not carry them."""
    aimclr = converted['aimclr_encoder'][0]['state_dict']
    flex = converted['msclr_flex_encoder'][0]['state_dict']
    graphs = {
        'kinectv2_25': aimclr['A'],
        'smplx_42': flex['A_smplx_42'],
    }
    for layout, A in graphs.items():
        assert _graph_error(A.double().numpy(), layout) is None, layout
    assert _graph_error(flex['A_ntu-rgb+d'].double().numpy(),
                        'kinectv2_25') is None
    # mmaction2's 'nturgb+d' links HandTip/Thumb differently: not the same
    assert _graph_error(aimclr['A'].double().numpy(), 'nturgb+d')
    # a reference graph that is no layout's is refused, naming it
    state = checkpoint_state(converted['msclr_flex_encoder'][0], 'flex')
    state['A_smplx_42'] = state['A_smplx_42'].clone()
    state['A_smplx_42'][1, 3, 6] += 0.5
    with pytest.raises(CheckpointError, match="reference skeleton 'smplx_42'"):
        convert_reference(state, 'flex')
    with pytest.raises(CheckpointError, match="is not layout 'nturgb"):
        convert_reference(checkpoint_state(converted['aimclr_encoder'][0],
                                           'a'), 'a', {'A': 'nturgb+d'})


def test_reference_classifier_becomes_the_heads(converted):
    """A linear-evaluation checkpoint (encoder_q with a 60-class fc, MS-CLR
    without ensemble) -> backbone + one classifier copy per convention,
    which tools/test.py loads strictly into the linear config's model."""
    ref = converted['msclr_flex_encoder'][0]
    state = {
        'encoder_q.' + k: v
        for k, v in ref['state_dict'].items() if not k.startswith('fc.')
    }
    gen = torch.Generator().manual_seed(0)
    fc = torch.nn.Linear(256, 60)
    with torch.no_grad():
        fc.weight.normal_(0, 0.05, generator=gen)
    state.update({'encoder_q.fc.weight': fc.weight.detach(),
                  'encoder_q.fc.bias': fc.bias.detach()})
    # as MS-CLR's checkpoints/ files hold it, saved from DataParallel
    state = checkpoint_state(dict(epoch=80, model_state_dict={
        'module.' + k: v for k, v in state.items()}), 'linear.pt')
    converted_state, info = convert_reference(state, 'linear.pt')
    cfg = Config.fromfile(
        str(ROOT / 'configs/msclr/linear/linear_ms_aimclr_ntu60_xsub.py'))
    model = MODELS.build(cfg.model).eval()
    model.load_state_dict(converted_state, strict=True)
    for name, conv in info['conventions'].items():
        x = ref['inputs'][name].permute(0, 4, 2, 3, 1).contiguous()
        with torch.no_grad():
            logits = model.cls_head(embed(model.backbone, x, conv), conv)
        expected = fc(ref['features'][name])
        np.testing.assert_allclose(
            logits.detach().numpy(), expected.detach().numpy(), atol=ATOL)

