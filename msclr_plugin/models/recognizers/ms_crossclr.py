"""CrosSCLR-style cross-stream knowledge mining over skeleton conventions."""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.model import BaseModel, ModuleDict

from mmaction.registry import MODELS
from ..data_preprocessors.multi_skeleton_data_preprocessor import (
    MultiSkeletonDataPreprocessor, skeleton_stream)
from .ms_moco import MSMoCo


@MODELS.register_module()
class MSCrosSCLR(BaseModel):
    """CrosSCLR (Li et al., CVPR 2021) with multi-skeleton encoders: one
    :class:`MSMoCo` per stream (joint, motion, bone), each with its own
    encoder shared by every convention, key encoder and queue.

    Every stream is computed from the same joint views (``query``, and
    ``key``, the clip in another convention as in :class:`MSMoCo`) by
    :func:`skeleton_stream`, so the data preprocessor must give joints.
    The queues are written in step (same batch, same pointer), so column
    ``j`` of every queue holds the same clip.

    - Epochs ``<= mining_epoch`` (CrosSCLR's 1-based ``cross_epoch``;
      mmengine's 0-based runtime ``'epoch'`` from :class:`MessageHub`):
      each stream trains plain InfoNCE, ``loss_<stream> = CE(l_s, 0)``.
    - Later, cross-stream knowledge mining: for streams ``a`` and ``b`` the
      positives of ``a`` are its key plus the top-``topk`` queue entries by
      ``b``'s similarity ``q_b . queue_b`` (CrosSCLR's rule: the other
      stream picks). With ``context`` the logits of ``a`` also hold the
      ``K`` products ``(q_a . queue_a) * (q_b . queue_b) / T``, the mined
      entries being positives there too. ``loss_a`` is the multi-positive
      InfoNCE, averaged over the other streams (CrosSCLR's 3-view rule).

    All streams' losses are summed into the total, as in CrosSCLR. Unlike
    CrosSCLR's code, which skips the EMA of all but the motion key encoder
    during cross training, every key encoder follows its query encoder
    throughout.

    A stream's encoder is ``streams.<stream>.backbone.`` in the state dict
    (the prefix for linear evaluation); :attr:`backbone` is the joint
    stream's, which reads the data preprocessor's output as is (kNN hooks).

    Args:
        backbone (dict): Backbone config (``MSSTGCN``), one per stream.
        neck (dict): Neck config (``MSProjectionNeck``), one per stream.
        streams (Sequence[str]): Two or three of ``'joint'``, ``'motion'``,
            ``'bone'``. Defaults to ``('joint', 'motion')``.
        mining_epoch (int): Last epoch (1-based) without mining.
            Defaults to 150 (CrosSCLR's ``cross_epoch``).
        topk (int): Queue entries mined by each other stream.
            Defaults to 1 (CrosSCLR).
        context (bool): Add CrosSCLR's context logits. Defaults to True.
        data_preprocessor (dict | nn.Module, optional): Must give joints.
            Defaults to ``dict(type='MultiSkeletonDataPreprocessor')``.
        init_cfg (dict | list, optional): Initialisation config.
        **kwargs: :class:`MSMoCo` arguments shared by the streams
            (``queue_len``, ``feat_dim``, ``momentum``, ``temperature``,
            ``loss_nce``, ``shuffle_bn``, ``query_view``, ``key_view``).
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 streams: Sequence[str] = ('joint', 'motion'),
                 mining_epoch: int = 150,
                 topk: int = 1,
                 context: bool = True,
                 data_preprocessor: Optional[Union[dict, nn.Module]] = dict(
                     type='MultiSkeletonDataPreprocessor'),
                 init_cfg: Optional[Union[dict, list]] = None,
                 **kwargs) -> None:
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        if getattr(data_preprocessor, 'stream', 'joint') != 'joint':
            raise ValueError('MSCrosSCLR computes its streams from joints: '
                             "set data_preprocessor.stream='joint', got "
                             f'{data_preprocessor.stream!r}')
        if kwargs.get('symmetric'):
            raise ValueError('MSCrosSCLR has no symmetric loss: its mining pairs '
                             "one query view's similarities across streams")
        if kwargs.get('extra_key_view'):
            raise ValueError('MSCrosSCLR has no second key (extra_key_view): use '
                             'MSMoCo or MSAimCLR')
        if kwargs.get('confusion_weight'):
            raise ValueError('MSCrosSCLR has no convention-confusion term '
                             '(confusion_weight): use MSMoCo or MSAimCLR')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        streams = tuple(streams)
        if (len(streams) < 2 or len(set(streams)) != len(streams)
                or not set(streams) <= set(MultiSkeletonDataPreprocessor.STREAMS)):
            raise ValueError('streams must be two or three distinct of '
                             f'{MultiSkeletonDataPreprocessor.STREAMS}, got '
                             f'{streams}')
        # mmengine's ModuleDict passes init_weights on to every stream, which
        # then copies its query encoder into its key encoder
        self.streams = ModuleDict({
            name: MSMoCo(backbone, neck, data_preprocessor=None, **kwargs)
            for name in streams
        })
        self.mining_epoch = mining_epoch
        self.topk = topk
        self.context = context

    # the same mode dispatch (loss / tensor / predict) as MSMoCo
    forward = MSMoCo.forward

    @property
    def backbone(self) -> nn.Module:
        """The joint stream's query encoder (absent without that stream)."""
        if 'joint' not in self.streams:
            raise AttributeError('MSCrosSCLR without a joint stream has no '
                                 'backbone for joint inputs')
        return self.streams['joint'].backbone

    def mining(self) -> bool:
        """Whether the current epoch mines positives across streams."""
        epoch = MessageHub.get_current_instance().get_info('epoch', 0)
        return epoch + 1 > self.mining_epoch

    def _views(self, inputs: Dict[str, torch.Tensor],
               data_samples: Optional[Sequence]) -> Tuple[tuple, tuple]:
        """``(x, conventions)`` of the query view and of the key view.

        Args:
            inputs (dict): The joint views.
            data_samples (list): Samples with ``metainfo['skeletons']``.

        Returns:
            tuple: The query pair and the key pair.
        """
        moco = next(iter(self.streams.values()))
        return tuple((moco._view(inputs, view), moco._view_skeletons(
            data_samples, view)) for view in (moco.query_view, moco.key_view))

    def top_neighbours(self, l_neg: torch.Tensor) -> torch.Tensor:
        """``(N, K)`` bool mask of each query's top-``topk`` queue entries.

        Args:
            l_neg (torch.Tensor): ``(N, K)`` similarities to the queue.

        Returns:
            torch.Tensor: The mask.
        """
        top = l_neg.topk(self.topk, dim=1).indices
        return torch.zeros_like(l_neg, dtype=torch.bool).scatter_(1, top, True)

    def cross_loss(self, stream: str, other: str,
                   logits: Dict[str, torch.Tensor],
                   sims: Dict[str, torch.Tensor],
                   mined: Dict[str, torch.Tensor]) -> torch.Tensor:
        """Multi-positive InfoNCE of ``stream`` with the positives mined by
        ``other``.

        Args:
            stream (str): The stream whose loss this is.
            other (str): The stream whose similarities pick the positives.
            logits (dict): Per stream ``(N, 1 + K)`` ``[q.k, q.queue] / T``.
            sims (dict): Per stream ``(N, K)`` raw ``q.queue``.
            mined (dict): Per stream ``(N, K)`` top-k masks of ``sims``.

        Returns:
            torch.Tensor: The scalar loss.
        """
        moco = self.streams[stream]
        key = torch.ones_like(mined[other][:, :1])
        columns, positives = [logits[stream]], [key, mined[other]]
        if self.context:
            columns.append(sims[stream] * sims[other] / moco.temperature)
            positives.append(mined[other])
        return moco.loss_nce(torch.cat(columns, dim=1), torch.cat(positives, dim=1))

    def loss(self,
             inputs: Dict[str, torch.Tensor],
             data_samples: Optional[Sequence] = None) -> Dict[str, torch.Tensor]:
        """InfoNCE of every stream, with cross-stream positives once mining.

        Args:
            inputs (dict): ``{query_view: (N, M, T, V, C), key_view: ...}``
                joint views.
            data_samples (list): Samples with ``metainfo['skeletons']``.

        Returns:
            dict: ``loss_<stream>`` (summed into the total);
            ``nce_top1_<stream>`` and, while mining, ``num_positives_<stream>``
            (the key and the distinct mined entries; logged only).
        """
        (x_q, skel_q), (x_k, skel_k) = self._views(inputs, data_samples)
        logits, sims, keys, losses = {}, {}, {}, {}
        for name, moco in self.streams.items():
            q, keys[name] = moco.encode_pair(
                skeleton_stream(x_q, name, skel_q), skel_q,
                skeleton_stream(x_k, name, skel_k), skel_k)
            logits[name], sims[name] = moco.contrast(q, keys[name])
            losses[f'nce_top1_{name}'] = moco._top1(logits[name])
        if self.mining():
            mined = {name: self.top_neighbours(l_neg) for name, l_neg in sims.items()}
            for name in self.streams:
                others = [o for o in self.streams if o != name]
                losses[f'loss_{name}'] = sum(
                    self.cross_loss(name, o, logits, sims, mined)
                    for o in others) / len(others)
                union = torch.stack([mined[o] for o in others]).any(dim=0)
                losses[f'num_positives_{name}'] = 1 + union.sum(dim=1).float().mean()
        else:
            for name, moco in self.streams.items():
                losses[f'loss_{name}'] = moco.loss_nce(logits[name])
        for name, moco in self.streams.items():
            moco.enqueue(keys[name])
        return losses

    def extract_feat(self,
                     inputs: Union[torch.Tensor, Dict[str, torch.Tensor]],
                     data_samples: Optional[Sequence] = None,
                     view: Optional[str] = None,
                     stream: Optional[str] = None) -> torch.Tensor:
        """Pooled query-encoder features of one stream, or of all streams
        concatenated in order.

        Args:
            inputs (Tensor | dict): Joint inputs, see
                :meth:`MSMoCo.feature_input`.
            data_samples (list, optional): See :meth:`MSMoCo.feature_input`
                (the bone stream needs the conventions).
            view (str, optional): Which view of a dict to embed.
            stream (str, optional): Only this stream.

        Returns:
            torch.Tensor: ``(N, C)`` or ``(N, num_streams * C)`` features.
        """
        names = [stream] if stream else list(self.streams)
        x, skeletons = self.streams[names[0]].feature_input(
            inputs, data_samples, view)
        return torch.cat([
            self.streams[name].pooled_features(
                skeleton_stream(x, name, skeletons), skeletons) for name in names
        ], dim=1)
