# The multi-skeleton ST-GCN++, AAGCN and CTR-GCN encoders at their standard
# width (64-128-256 channels, stride 2 at stages 5 and 8, no dropout) over
# the NTU conventions; a config swaps one in for AimCLR's ST-GCN with
# model = dict(backbone={{_base_.<name>}}) (channels=None and tcn_dropout=0.
# override the AimCLR encoder's). No init_cfg: the base config's applies.
ntu_graph = dict(
    type='MultiSkeletonGraph', layouts=['kinectv2_25', 'smplx_42'],
    mode='spatial')
# mmaction2's STGCN(gcn_adaptive='init', gcn_with_res=True, tcn_type='mstcn')
stgcnpp_encoder = dict(
    type='MSSTGCNPlusPlus', graph_cfg=ntu_graph, channels=None,
    tcn_dropout=0.)
# mmaction2's AAGCN: adaptive graph + spatial/temporal/channel attention
aagcn_encoder = dict(
    type='MSAAGCN', graph_cfg=ntu_graph, channels=None, tcn_dropout=0.)
# CTR-GCN (Chen et al., ICCV 2021)
ctrgcn_encoder = dict(
    type='MSCTRGCN', graph_cfg=ntu_graph, channels=None, tcn_dropout=0.)
