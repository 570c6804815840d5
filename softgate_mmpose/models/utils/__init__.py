from .fuse import (bn_affine, clear_eval_cache, conv_norm_act, norm_act_conv,
                   scaled_conv, split_conv_norm)

__all__ = [
    'bn_affine', 'clear_eval_cache', 'conv_norm_act', 'norm_act_conv',
    'scaled_conv', 'split_conv_norm'
]
