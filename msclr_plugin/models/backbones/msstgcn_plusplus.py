"""MSSTGCNPlusPlus: ST-GCN++ shared by several skeleton conventions."""
from typing import Optional

from mmaction.registry import MODELS
from .msstgcn import MSSTGCN


@MODELS.register_module()
class MSSTGCNPlusPlus(MSSTGCN):
    """Multi-skeleton ST-GCN++ (PYSKL, Duan et al. 2022): mmaction2's
    ``STGCN(gcn_adaptive='init', gcn_with_res=True, tcn_type='mstcn')``
    over several conventions.

    Each convention keeps its input BN and its learned graph (``'init'``:
    initialised to the convention's graph and used in its place); the graph
    convolutions, their residuals and the multi-scale temporal units are
    shared. With one convention it equals mmaction2's ``STGCN`` with those
    settings (:meth:`MSSTGCN.from_stgcn` converts one).

    Args:
        graph_cfg (dict): A :class:`MultiSkeletonGraph` config; ST-GCN++
            uses ``mode='spatial'``.
        gcn_adaptive (str | None): Defaults to ``'init'``.
        gcn_with_res (bool): Defaults to True.
        tcn_type (str): Defaults to ``'mstcn'``.
        **kwargs: As :class:`MSSTGCN` (``tcn_ms_cfg``, ``tcn_dropout``,
            ``frozen_stages``...).

    Examples:
        >>> backbone = MSSTGCNPlusPlus(graph_cfg=dict(
        ...     type='MultiSkeletonGraph', mode='spatial',
        ...     layouts=['kinectv2_25', 'smplx_42']))
        >>> backbone(torch.randn(2, 2, 20, 42, 3), 'smplx_42').shape
        torch.Size([2, 2, 256, 5, 42])
    """

    def __init__(self,
                 graph_cfg: dict,
                 gcn_adaptive: Optional[str] = 'init',
                 gcn_with_res: bool = True,
                 tcn_type: str = 'mstcn',
                 **kwargs) -> None:
        super().__init__(
            graph_cfg,
            gcn_adaptive=gcn_adaptive,
            gcn_with_res=gcn_with_res,
            tcn_type=tcn_type,
            **kwargs)
