"""Stack the views of a batch of multi-convention skeleton samples."""
from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmaction.registry import MODELS
from mmengine.model import BaseDataPreprocessor

from msclr_plugin.skeletons import get_layout
from ..utils import index_tensor


def _stack(tensors: Sequence[torch.Tensor], where: str,
           pin: bool = False) -> torch.Tensor:
    """Stack ``(..., V, C)`` tensors, zero-padding V to the largest; into
    pinned memory if ``pin`` (then a non-blocking copy to a GPU does not
    wait)."""
    shapes = {tuple(t.shape[:-2]) + (t.shape[-1], ) for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f'{where}: samples differ in shape apart from V '
                         f'({sorted(shapes)}); resample and pad persons in '
                         'the pipeline (MSResample, MSPersonPadding)')
    num_joints = max(t.shape[-2] for t in tensors)
    tensors = [
        t if t.shape[-2] == num_joints else F.pad(t,
                                                  (0, 0, 0, num_joints - t.shape[-2]))
        for t in tensors
    ]
    if not pin:
        return torch.stack(tensors)
    out = torch.empty((len(tensors), ) + tensors[0].shape,
                      dtype=tensors[0].dtype, pin_memory=True)
    return torch.stack(tensors, out=out)


def skeleton_stream(x: torch.Tensor, stream: str,
                    skeletons: Optional[Sequence[Optional[str]]] = None
                    ) -> torch.Tensor:
    """Joint, bone or motion stream of a stacked ``(N, ..., T, V, C)`` batch.

    ``'bone'`` is ``x[v] - x[parent(v)]`` with each sample's layout (roots
    and zero-padded joints give zero), ``'motion'`` is ``x[t + 1] - x[t]``
    with the last frame zero, ``'joint'`` is ``x`` itself.

    Args:
        x (torch.Tensor): The joint batch.
        stream (str): ``'joint'``, ``'bone'`` or ``'motion'``.
        skeletons (Sequence[str], optional): Per-sample layout names, needed
            by the bone stream only.

    Returns:
        torch.Tensor: The stream, shaped like ``x``.
    """
    if stream == 'joint':
        return x
    if stream == 'motion':
        motion = torch.zeros_like(x)
        motion[..., :-1, :, :] = x[..., 1:, :, :] - x[..., :-1, :, :]
        return motion
    if stream != 'bone':
        raise ValueError(f"stream must be 'joint', 'bone' or 'motion', got "
                         f'{stream!r}')
    if skeletons is None or None in skeletons:
        raise ValueError('the bone stream needs the layout of every sample '
                         "(metainfo['skeletons'] or the skeleton argument)")
    num_joints = x.shape[-2]
    out = torch.empty_like(x)
    # indices built on the host: boolean masks or blocking copies would
    # make every step wait for the device
    for name in dict.fromkeys(skeletons):
        native = get_layout(name).parents.tolist()
        if len(native) > num_joints:
            raise ValueError(f'layout {name} has {len(native)} joints, the '
                             f'batch {num_joints}')
        parents = index_tensor(native + list(range(len(native), num_joints)),
                               x.device)
        rows = [i for i, s in enumerate(skeletons) if s == name]
        if len(rows) == len(x):
            return x - x.index_select(-2, parents)
        rows = index_tensor(rows, x.device)
        part = x.index_select(0, rows)
        out[rows] = part - part.index_select(-2, parents)
    return out


@MODELS.register_module()
class MultiSkeletonDataPreprocessor(BaseDataPreprocessor):
    """Batch the per-view inputs of :class:`PackMultiSkeletonInputs`.

    mmengine's ``pseudo_collate`` turns the samples' ``{view: Tensor (M, T,
    V, C)}`` into ``{view: [Tensor, ...]}``; a list of per-sample dicts is
    accepted too. Each view is stacked to ``(N, M, T, V, C)``; when its
    samples come from conventions with different joint counts, V is
    zero-padded to the batch's largest (the mixed, padded batch of the
    reference code; the recognizer reads each sample's convention from
    ``data_sample.skeletons[view]``). With
    :class:`ConventionGroupedBatchSampler` every view has one convention and
    nothing is padded. Plain mmaction inputs (a list of Tensors) are stacked
    the same way. Everything is then moved to the model's device.
    ``gt_labels`` stacked by :func:`multi_skeleton_collate` go back to the
    samples' ``gt_label``, moved to the device in one copy.

    ``stream`` then turns the batch into the bone or motion stream on the
    device, after augmentation, as AimCLR does on the GPU
    (:func:`skeleton_stream`, with each sample's layout for bones).
    Transform :class:`MSGenStream` does the same per sample in a pipeline.

    Args:
        stream (str): ``'joint'``, ``'bone'`` or ``'motion'``. Defaults to
            ``'joint'``.
        skeleton (str, optional): Layout of plain (view-less) inputs, needed
            for the bone stream there.
        non_blocking (bool): Copy to the device without waiting (with a
            GPU, the views are then stacked into pinned memory, which such
            a copy needs). Defaults to False.
    """

    STREAMS = ('joint', 'bone', 'motion')

    def __init__(self,
                 stream: str = 'joint',
                 skeleton: Optional[str] = None,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking=non_blocking)
        if stream not in self.STREAMS:
            raise ValueError(f'stream must be one of {self.STREAMS}, got '
                             f'{stream!r}')
        self.stream = stream
        self.skeleton = skeleton

    def forward(self, data: dict, training: bool = False) -> dict:
        """Stack and move to the device.

        Args:
            data (dict): ``inputs`` (``{view: list of Tensors}``, a list of
                ``{view: Tensor}``, a list of Tensors, or already stacked
                Tensors) and optional ``data_samples``.
            training (bool): Unused.

        Returns:
            dict: ``inputs`` (``{view: Tensor (N, M, T, V, C)}`` or a Tensor)
            and ``data_samples``.
        """
        batch, inputs = data, data['inputs']
        pin = self._non_blocking and self._device.type == 'cuda'
        if isinstance(inputs, (list, tuple)) and inputs and isinstance(inputs[0], dict):
            views = list(inputs[0])
            for i, sample in enumerate(inputs):
                if list(sample) != views:
                    raise ValueError(f'sample {i} has views {list(sample)}, '
                                     f'sample 0 {views}')
            inputs = {view: [s[view] for s in inputs] for view in views}
        if isinstance(inputs, dict):
            inputs = {
                view:
                _stack(tensors, f'view {view}', pin) if isinstance(tensors,
                                                              (list,
                                                               tuple)) else tensors
                for view, tensors in inputs.items()
            }
        elif isinstance(inputs, (list, tuple)):
            if not inputs:
                raise ValueError('empty batch')
            inputs = _stack(inputs, 'inputs', pin)
        data_samples: Optional[List] = data.get('data_samples')
        data = self.cast_data(dict(inputs=inputs))
        # a sample without data fields has nothing to move: copying it
        # (mmengine deep-copies its metainfo) costs ~30 us a sample
        data['data_samples'] = None if data_samples is None else [
            s if hasattr(s, 'keys') and not s.keys() else self.cast_data(s)
            for s in data_samples
        ]
        if 'gt_labels' in batch:  # multi_skeleton_collate took them out
            labels = self.cast_data(batch['gt_labels'])
            for sample, label in zip(data['data_samples'], labels):
                sample.gt_label = label
        if self.stream != 'joint':
            inputs = data['inputs']
            if isinstance(inputs, dict):
                data['inputs'] = {
                    view:
                    skeleton_stream(x, self.stream,
                                    self._view_skeletons(data_samples, view, len(x)))
                    for view, x in inputs.items()
                }
            else:
                data['inputs'] = skeleton_stream(inputs, self.stream,
                                                 [self.skeleton] * len(inputs))
        return data

    @staticmethod
    def _view_skeletons(data_samples, view: str, num: int) -> List[str]:
        if not data_samples or len(data_samples) != num:
            raise ValueError(f'the bone stream of view {view} needs one data '
                             "sample per input with metainfo['skeletons']")
        return [s.metainfo['skeletons'][view] for s in data_samples]
