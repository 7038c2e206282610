"""AimCLR's left/right flip, with each layout's own permutation."""
from typing import Dict, Optional

from mmaction.registry import TRANSFORMS

from msclr_plugin.skeletons import get_layout
from ._random import RandomTransform


@TRANSFORMS.register_module()
class MSSpatialFlip(RandomTransform):
    """With probability ``p`` permute the joints by the layout's left/right
    ``flip`` permutation. As AimCLR (``random_spatial_flip``) only the joint
    order changes: coordinates are NOT mirrored, so the left arm's motion is
    given to the right arm's slots (a different, plausible body).

    Required Keys: ``keypoint`` (M, T, V, C), ``skeleton`` (layout name)
    Optional Keys: ``rng`` (per-sample generator, see :class:`RandomTransform`)
    Modified Keys: ``keypoint``, ``keypoint_score`` (if present)

    Args:
        p (float): Probability. Defaults to 0.5.
        seed (int, optional): See :class:`RandomTransform`.
    """

    def __init__(self, p: float = 0.5, seed: Optional[int] = None) -> None:
        super().__init__(seed)
        self.p = p

    def transform(self, results: Dict) -> Dict:
        if self.rng_for(results).random() >= self.p:
            return results
        perm = get_layout(results['skeleton']).flip
        results['keypoint'] = results['keypoint'].take(perm, axis=2)
        if 'keypoint_score' in results:
            results['keypoint_score'] = results['keypoint_score'].take(perm, axis=2)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(p={self.p})'
