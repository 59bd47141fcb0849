"""Options held apart from the class they configure: a mixin of traits whose class lists it
among its bases, so the options count as that class's own."""

from __future__ import annotations

from typing import Any

from traitlets import HasTraits, TraitType


class Options(HasTraits):
    """Base of a mixin holding the options of the configurable that lists it among its
    bases: they count as that class's own (its config section, ``--help-all`` and generated
    config files name them ``c.<Class>.<option>``), as if the class defined them."""

    @classmethod
    def class_own_traits(cls, **metadata: Any) -> dict[str, TraitType[Any, Any]]:
        own = super().class_own_traits(**metadata)
        for base in cls.__bases__:
            if issubclass(base, Options):
                own.update(base.class_traits(**metadata))
        return own
