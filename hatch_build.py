"""Build hook: the step API ``orchest`` (orchest_ext/sdk/orchest) is also a top-level package
of the wheel, so ``import orchest`` works in every kernel of the environment.

An editable install puts orchest_ext/sdk on the path instead (``dev-mode-dirs``), so edits to
the step API are live there too; a copy would hide them.
"""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SDK_SOURCE = "orchest_ext/sdk/orchest"


class StepApiHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name == "wheel" and version == "standard":
            build_data["force_include"][SDK_SOURCE] = "orchest"
