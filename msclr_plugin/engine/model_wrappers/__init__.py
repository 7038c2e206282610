from .ms_distributed_data_parallel import MSDistributedDataParallel

__all__ = ['MSDistributedDataParallel']
