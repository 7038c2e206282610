"""AimCLR's axis mask."""
from typing import Dict, Optional

from mmaction.registry import TRANSFORMS

from ._random import RandomTransform


@TRANSFORMS.register_module()
class MSAxisMask(RandomTransform):
    """With probability ``p`` zero one coordinate axis, drawn uniformly
    among the first ``min(C, 3)``, for every person, frame and joint (AimCLR
    ``axis_mask``).

    Required Keys: ``keypoint`` (M, T, V, C)
    Optional Keys: ``rng`` (per-sample generator, see :class:`RandomTransform`)
    Modified Keys: ``keypoint``

    Args:
        p (float): Defaults to 0.5.
        seed (int, optional): See :class:`RandomTransform`.
    """

    def __init__(self, p: float = 0.5, seed: Optional[int] = None) -> None:
        super().__init__(seed)
        self.p = p

    def transform(self, results: Dict) -> Dict:
        draw = self.rng_for(results).random(2)
        if draw[0] >= self.p:
            return results
        kp = results['keypoint']
        axes = min(kp.shape[-1], 3)
        # copy + strided store: a broadcast multiply over C = 3 is 10x slower
        out = kp.copy()
        out[..., min(int(draw[1] * axes), axes - 1)] = 0
        results['keypoint'] = out
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(p={self.p})'
