"""A training step reads nothing back from the device.

On a GPU, every read of device data by the host (``.item()``, ``bool()``,
``int()``, ``.tolist()``, ``unique``, ``nonzero``, boolean-mask indexing)
waits for the queued kernels. Checked here on CPU by recording the operators
that would do so; conventions are grouped on the host instead.
"""
import collections

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from msclr_plugin.models import MSLinearHead
from msclr_plugin.models.data_preprocessors.multi_skeleton_data_preprocessor import (
    skeleton_stream)
from .test_pretrain_models import KINECT, SMPLX, build, samples, views

aten = torch.ops.aten
READS = {
    aten._local_scalar_dense, aten.nonzero, aten._unique2, aten.unique_dim,
    aten.unique_consecutive, aten.masked_select, aten.is_nonzero
}
INDEXING = {aten.index, aten.index_put, aten.index_put_, aten._index_put_impl_}


class DeviceReads(TorchDispatchMode):
    """Counts the operators that make the host wait for a CUDA device."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = collections.Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket in READS:
            self.calls[str(func)] += 1
        if func.overloadpacket in INDEXING and any(
                i is not None and i.dtype == torch.bool for i in args[1]):
            self.calls[f'{func} with a boolean mask'] += 1
        return func(*args, **(kwargs or {}))


@pytest.fixture
def reads(monkeypatch):
    spy = DeviceReads()
    tolist = torch.Tensor.tolist

    def counted(tensor):
        spy.calls['Tensor.tolist'] += 1
        return tolist(tensor)

    monkeypatch.setattr(torch.Tensor, 'tolist', counted)
    with spy:
        yield spy.calls


@pytest.mark.parametrize('recompute', [False, True])
@pytest.mark.parametrize('padded', [False, True])
def test_aimclr_step_reads_nothing(reads, padded, recompute):
    mixed = [KINECT, SMPLX, SMPLX, KINECT]
    model = build(layouts=(KINECT, SMPLX)).train()
    for block in model.backbone.gcn:  # the backbone's gcn_recompute
        block.gcn.recompute = recompute
    if padded:
        inputs, data = views(42, 42), samples(mixed, mixed[::-1])
    else:
        inputs, data = views(25, 42), samples(KINECT, SMPLX)
    losses = model.loss(inputs, data)
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert not reads


def test_bone_stream_and_head_routing_read_nothing(reads):
    x = torch.randn(4, 2, 6, 42, 3)
    skeleton_stream(x, 'bone', [KINECT, SMPLX, KINECT, SMPLX])
    skeleton_stream(x, 'bone', [SMPLX] * 4)
    head = MSLinearHead(num_classes=3, in_channels=8, skeletons=[KINECT, SMPLX])
    head(torch.randn(4, 8), [KINECT, SMPLX, SMPLX, KINECT])
    assert not reads
