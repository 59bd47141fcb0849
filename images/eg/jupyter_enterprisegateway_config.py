"""Enterprise Gateway settings of the orchest_ext EG image, read from the environment.

EG_ALLOWED_KERNELS (comma separated kernelspec names) limits the kernels EG offers, as
in the upstream EG image. EG reads everything else from its own EG_* variables.
"""

import os

from jupyter_client.kernelspec import KernelSpecManager

c = get_config()  # noqa: F821
c.KernelSpecManager.ensure_native_kernel = False
allowed = {name for name in os.environ.get("EG_ALLOWED_KERNELS", "").split(",") if name}
if allowed:
    # jupyter_client < 7 (which EG 3.3 pins) calls the setting `whitelist`.
    name = (
        "allowed_kernelspecs"
        if KernelSpecManager.class_traits().get("allowed_kernelspecs")
        else "whitelist"
    )
    setattr(c.KernelSpecManager, name, allowed)
