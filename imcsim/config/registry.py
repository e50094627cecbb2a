"""Small interfaces chosen by name: a registry maps the name a YAML key gives (an adder
style, an ADC kind, a crossbar technology) to the one object that knows that variant."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

T = TypeVar("T")
C = TypeVar("C", bound=type)  # a class with a `name`


class Registry(dict[str, T], Generic[T]):
    """Objects by name, in the order they were registered (`what` names them in errors)."""

    def __init__(self, what: str):
        super().__init__()
        self.what = what

    def register(self, cls: C) -> C:
        """Class decorator: register one instance of `cls` under `cls.name`."""
        instance = cls()
        self[instance.name] = instance
        return cls

    def named(self, name: Any) -> T:
        """The object called `name` (ValueError naming the known ones otherwise)."""
        try:
            return self[name]
        except (KeyError, TypeError):
            raise ValueError(f"unknown {self.what} {name!r}; expected one of "
                             f"{tuple(self)}") from None
