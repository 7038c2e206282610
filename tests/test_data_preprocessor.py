"""MultiSkeletonDataPreprocessor: stacking, V padding, mmaction inputs."""
import pytest
import torch
from mmaction.registry import MODELS
from mmaction.structures import ActionDataSample
from mmengine.registry import DefaultScope


@pytest.fixture(autouse=True)
def mmaction_scope():
    # other tests may leave another default scope behind; build in mmaction's
    with DefaultScope.overwrite_default_scope('mmaction'):
        yield


def _pre():
    return MODELS.build(dict(type='MultiSkeletonDataPreprocessor'))


def _sample(num_joints, value=1.0):
    return torch.full((2, 6, num_joints, 3), value)


def test_single_convention_views_stack_without_padding():
    pre = _pre()
    samples = [ActionDataSample() for _ in range(3)]
    out = pre(
        dict(
            inputs=dict(query=[_sample(25)] * 3, key=[_sample(20)] * 3),
            data_samples=samples))
    assert out['inputs']['query'].shape == (3, 2, 6, 25, 3)
    assert out['inputs']['key'].shape == (3, 2, 6, 20, 3)
    assert len(out['data_samples']) == 3
    assert isinstance(out['data_samples'][0], ActionDataSample)


def test_mixed_batch_zero_pads_joints():
    pre = _pre()
    per_sample = [
        dict(query=_sample(25, 1.0)),
        dict(query=_sample(20, 2.0)),
        dict(query=_sample(42, 3.0))
    ]
    out = pre(dict(inputs=per_sample, data_samples=None))['inputs']['query']
    assert out.shape == (3, 2, 6, 42, 3)
    assert (out[0, :, :, :25] == 1).all() and (out[0, :, :, 25:] == 0).all()
    assert (out[1, :, :, :20] == 2).all() and (out[1, :, :, 20:] == 0).all()
    assert (out[2] == 3).all()


def test_plain_mmaction_inputs():
    pre = _pre()
    tensors = [torch.randn(1, 2, 6, 25, 3) for _ in range(4)]
    out = pre(dict(inputs=tensors, data_samples=[]))['inputs']
    assert out.shape == (4, 1, 2, 6, 25, 3)
    assert torch.equal(out[2], tensors[2])


def test_mismatched_frames_raise():
    pre = _pre()
    with pytest.raises(ValueError, match='view query'):
        pre(
            dict(
                inputs=dict(query=[torch.zeros(2, 6, 25, 3),
                                   torch.zeros(2, 7, 25, 3)])))
    with pytest.raises(ValueError, match='views'):
        pre(dict(inputs=[dict(query=_sample(25)), dict(key=_sample(25))]))


def test_output_on_model_device():
    pre = _pre()
    out = pre(dict(inputs=dict(query=[_sample(25)])))
    assert out['inputs']['query'].device == pre.device


def _samples(skeletons):
    out = []
    for name in skeletons:
        sample = ActionDataSample()
        sample.set_metainfo(dict(skeletons=dict(query=name)))
        out.append(sample)
    return out


def test_bone_stream_mixed_batch():
    from msclr_plugin.skeletons import get_layout
    pre = MODELS.build(dict(type='MultiSkeletonDataPreprocessor', stream='bone'))
    kinect, msr = torch.randn(2, 6, 25, 3), torch.randn(2, 6, 20, 3)
    out = pre(
        dict(
            inputs=[dict(query=kinect), dict(query=msr)],
            data_samples=_samples(['kinectv2_25', 'msr_action3d_20'])))
    bone = out['inputs']['query']
    assert bone.shape == (2, 2, 6, 25, 3)
    for i, (name, x) in enumerate([('kinectv2_25', kinect), ('msr_action3d_20', msr)]):
        layout = get_layout(name)
        parents = torch.as_tensor(layout.parents)
        v = layout.num_joints
        assert torch.allclose(bone[i, ..., :v, :], x - x[..., parents, :])
        assert (bone[i, :, :, layout.center] == 0).all()
    assert (bone[1, :, :, 20:] == 0).all()  # padded joints stay zero
    with pytest.raises(ValueError, match='skeleton argument'):
        pre(dict(inputs=[torch.randn(2, 6, 25, 3)]))


def test_motion_stream():
    pre = MODELS.build(dict(type='MultiSkeletonDataPreprocessor', stream='motion'))
    x = torch.randn(2, 6, 25, 3)
    out = pre(dict(inputs=dict(query=[x]),
                   data_samples=_samples(['kinectv2_25'])))['inputs']['query']
    assert (out[0, :, -1] == 0).all()
    assert torch.allclose(out[0, :, :-1], x[:, 1:] - x[:, :-1])
    plain = pre(dict(inputs=[x]))['inputs']
    assert torch.equal(plain, out)
    with pytest.raises(ValueError, match='stream'):
        MODELS.build(dict(type='MultiSkeletonDataPreprocessor', stream='x'))
