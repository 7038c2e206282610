"""mmengine's DDP wrapper for CPU (gloo) and GPU, with this plugin's SyncBN."""
from mmengine.model import MMDistributedDataParallel

from mmaction.registry import MODEL_WRAPPERS
from msclr_plugin.models.layers.sync_bn import convert_sync_batchnorm


@MODEL_WRAPPERS.register_module()
class MSDistributedDataParallel(MMDistributedDataParallel):
    """:class:`MMDistributedDataParallel` that runs on CPU and GPU alike.

    ``Runner.wrap_model`` always passes ``device_ids=[LOCAL_RANK]``, which
    DDP refuses for a CPU module: device ids are kept only for a module on a
    CUDA device. ``sync_bn=True`` converts every BatchNorm to
    :class:`MaskedSyncBatchNorm` first (torch's SyncBN has no CPU kernel
    and no joint mask). ``tools/train.py`` puts this wrapper in place of
    mmengine's for launched runs (``msclr_plugin.utils.launch``).

    Args:
        module (nn.Module): The model, already on its device.
        sync_bn (bool): Synchronise BatchNorm statistics over the ranks.
            Defaults to False.
        **kwargs: :class:`MMDistributedDataParallel` arguments.
    """

    def __init__(self, module, sync_bn: bool = False, **kwargs) -> None:
        device = next(module.parameters()).device
        if device.type != 'cuda':
            kwargs['device_ids'] = None
            kwargs.pop('output_device', None)
        if sync_bn:
            module = convert_sync_batchnorm(module)
        super().__init__(module=module, **kwargs)
