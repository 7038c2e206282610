from .ms_acc_metric import MSAccMetric

__all__ = ['MSAccMetric']
