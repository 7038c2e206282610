"""Build every view of a multi-convention item with its own sub-pipeline."""
from typing import Callable, Dict, List, Optional, Sequence, Union

import numpy as np
from mmaction.registry import TRANSFORMS
from mmcv.transforms import BaseTransform

from ._random import mix64_int

PipelineCfg = Sequence[Union[dict, Callable]]


def _build(pipeline: Optional[PipelineCfg]) -> List[Callable]:
    return [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in (pipeline or [])]


def _run(transforms: List[Callable], results: Dict) -> Optional[Dict]:
    for transform in transforms:
        results = transform(results)
        if results is None:
            return None
    return results


@TRANSFORMS.register_module()
class MSMultiView(BaseTransform):
    """Run one sub-pipeline per view on a single-skeleton dict.

    For each convention used by the item, ``common`` runs once on
    ``dict(keypoint=skeletons[conv], skeleton=<layout name>,
    total_frames=T, label, clip_name)`` (put the deterministic,
    per-convention steps there: :class:`MSPreNormalize`,
    :class:`MSResample`, :class:`MSPersonPadding`); then each view
    ``view -> conv`` runs ``pipelines[view]`` (or ``default``) on a shallow
    copy of that convention's dict. The transforms never modify arrays in
    place, so views built from one convention stay independent.

    Example (pretraining, AimCLR views)::

        normal = [dict(type='MSTemporalCrop'), dict(type='MSShear')]
        extreme = normal + [dict(type='MSSpatialFlip'), dict(type='MSRotate'),
                            dict(type='MSGaussianNoise'),
                            dict(type='MSGaussianBlur'),
                            dict(type='MSAxisMask')]
        dict(type='MSMultiView', common=[dict(type='MSResample')],
             pipelines=dict(query=normal, query_extreme=extreme, key=normal))

    Evaluation datasets give only ``default``.

    ``replay={'key': 'query'}`` gives a view the random draws of another
    (same crop window, same shear) when the two views render different
    conventions: the pair then differs by the skeleton convention alone, the
    "aligned" cross-convention positive (docs/pretraining.md). Views of the
    same convention keep independent draws (replayed, they would be copies).
    The source view must come first in ``views`` and the two pipelines
    should be the same for the draws to mean the same thing.

    Randomness: when the results carry ``seed``, ``epoch`` and ``sample_idx``
    (as :class:`MultiSkeletonDataset` items do), every view draws its random
    transforms from one generator whose state is a hash of ``(seed, epoch,
    sample_idx)``
    given to them as ``rng`` (see :class:`RandomTransform`): the item's
    augmentation is then a function of the run's seed, the epoch and the
    item.

    Required Keys: ``skeletons`` ``{conv: (M, T, V, C)}``, ``views``
    ``{view: conv}``; optional ``layouts`` ``{conv: layout name}`` (default:
    the convention's name), ``seed``, ``epoch``, ``sample_idx``
    Added Keys: ``inputs_views`` ``{view: (M, T, V, C) float32}``,
    ``view_skeletons`` ``{view: layout name}`` (what the backbone's graph
    is indexed by; equal to the convention name unless a convention was
    given another layout), ``view_conventions`` ``{view: conv}``

    Args:
        pipelines (dict, optional): ``{view: [transforms]}``.
        default (list, optional): Pipeline of the other views. Defaults to
            no transform.
        common (list, optional): Per-convention pipeline run first.
        replay (dict, optional): ``{view: source view}``: the view replays
            the source's random draws when their conventions differ. Needs
            per-item generators (``seed``, ``epoch``, ``sample_idx`` in the
            results). Defaults to None (every view draws its own).
    """

    def __init__(self,
                 pipelines: Optional[Dict[str, PipelineCfg]] = None,
                 default: Optional[PipelineCfg] = None,
                 common: Optional[PipelineCfg] = None,
                 replay: Optional[Dict[str, str]] = None) -> None:
        self.pipelines = {view: _build(cfg) for view, cfg in (pipelines or {}).items()}
        self.replay = dict(replay or {})
        self._replay_sources = set(self.replay.values())
        for view, source in self.replay.items():
            if view == source or source in self.replay:
                raise ValueError(f'replay {view!r} <- {source!r}: a view replays '
                                 'a view that draws its own')
        self.default = _build(default)
        self.common = _build(common)
        self._bit_generator = np.random.PCG64()
        self._generator = np.random.Generator(self._bit_generator)

    def _item_rng(self, seed: int, epoch: int, index: int) -> np.random.Generator:
        """This instance's PCG64 generator, set to the state of the item.

        The state is a SplitMix64 hash of (seed, epoch, index): a few
        microseconds, where ``default_rng([seed, epoch, index])`` (seed
        hashing, a new object) costs about four times as much per item.
        """
        key = mix64_int(mix64_int(mix64_int(seed) ^ epoch) ^ index)
        self._bit_generator.state = dict(
            bit_generator='PCG64',
            state=dict(state=mix64_int(key) << 64 | mix64_int(key ^ 1),
                       inc=mix64_int(key ^ 2) << 1 | 1),
            has_uint32=0,
            uinteger=0)
        return self._generator

    def transform(self, results: Dict) -> Optional[Dict]:
        layouts = results.get('layouts', {})
        rng = None
        if all(results.get(k) is not None for k in ('seed', 'epoch', 'sample_idx')):
            rng = self._item_rng(results['seed'], results['epoch'], results['sample_idx'])
        bases, inputs, skeletons, conventions, states = {}, {}, {}, {}, {}
        for view, conv in results['views'].items():
            source = self.replay.get(view)
            replayed = source is not None and conventions.get(source, conv) != conv
            if source is not None and source not in conventions:
                raise ValueError(f'replay: view {view!r} comes before its source '
                                 f'{source!r} in views {list(results["views"])}')
            if replayed and rng is None:
                raise ValueError('MSMultiView(replay=...) needs per-item generators: '
                                 "the results carry no 'seed', 'epoch' and 'sample_idx' "
                                 f"(clip {results.get('clip_name')!r})")
            base = bases.get(conv)
            if base is None:
                kp = results['skeletons'][conv]
                base = _run(
                    self.common,
                    dict(
                        keypoint=kp,
                        skeleton=layouts.get(conv, conv),
                        total_frames=kp.shape[1],
                        label=results.get('label', -1),
                        clip_name=results.get('clip_name')))
                if base is None:
                    return None
                bases[conv] = base
            if view in self._replay_sources and rng is not None:
                states[view] = self._bit_generator.state
            if replayed:
                after = self._bit_generator.state
                self._bit_generator.state = states[source]
            out = _run(self.pipelines.get(view, self.default), dict(base, rng=rng))
            if replayed:
                # the views after this one draw as they would without replay
                self._bit_generator.state = after
            if out is None:
                return None
            inputs[view] = np.asarray(out['keypoint'], dtype=np.float32)
            skeletons[view] = out['skeleton']
            conventions[view] = conv
        results['inputs_views'] = inputs
        results['view_skeletons'] = skeletons
        results['view_conventions'] = conventions
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(pipelines={self.pipelines}, '
                f'default={self.default}, common={self.common}, '
                f'replay={self.replay})')
