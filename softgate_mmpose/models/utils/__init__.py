from .fuse import (bn_affine, clear_eval_cache, conv_norm_act, norm_act_conv,
                   scaled_conv, split_conv_norm)
from .strips import conv_chain_halo, forward_in_strips
from .upsample import add_upsampled_

__all__ = [
    'add_upsampled_', 'bn_affine', 'clear_eval_cache', 'conv_chain_halo',
    'conv_norm_act', 'forward_in_strips', 'norm_act_conv', 'scaled_conv',
    'split_conv_norm'
]
