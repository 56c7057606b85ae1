"""Messages about a caller's input, worded for whoever made the call.

A library function names the Python argument that is wrong (``design must be one of ...``,
``parameter teams.x.headcount=1.5: ...``); the command line names its flags for the same
problem (``--design must be one of ...``, ``--param teams.x.headcount=1.5: ...``).  A
message is built from parts: plain text and :class:`Arg` references to arguments.
``str()`` renders the references as the library's argument names; the command line renders
them with :meth:`Worded.render` and its own table of flags.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Arg:
    """A reference to an argument inside a message, optionally with the value given.

    ``name`` is the Python argument (``"params"``, ``"design"``, ``"out"``, ...); ``value``
    is what was given for it, as text (``"teams.x.headcount=1.5"`` for one parameter;
    ``"True"`` for a switch such as ``resume``); ``library`` replaces the library's
    wording where the usual one does not fit the sentence.
    """

    name: str
    value: str | None = None
    library: str | None = None  # the library's wording here, when the usual one reads badly


#: how the library words an argument: bare, and with a value (``{}`` is the value)
LIBRARY_WORDS: dict[str, tuple[str, str]] = {
    "params": ("parameter", "parameter {}"),
}

Words = Callable[[Arg], str] | Mapping[str, str] | None


def library_word(arg: Arg) -> str:
    """The library's wording of ``arg``: its name, or ``name=value``."""
    if arg.library is not None:
        return arg.library
    bare, with_value = LIBRARY_WORDS.get(arg.name, (arg.name, arg.name + "={}"))
    return bare if arg.value is None else with_value.format(arg.value)


def flag_words(flags: Mapping[str, str], switches: tuple[str, ...] = ()
               ) -> Callable[[Arg], str]:
    """Word arguments as command-line flags.

    ``flags[name]``, then the value if one was given (not for the ``switches``, flags that
    take no value such as ``--resume``).
    """
    def word(arg: Arg) -> str:
        flag = flags.get(arg.name, arg.name)
        return flag if arg.value is None or arg.name in switches else f"{flag} {arg.value}"
    return word


class Worded:
    """Text made of strings and :class:`Arg` references; ``arg`` names the first one."""

    parts: tuple[str | Arg, ...] = ()

    def _set_parts(self, parts: tuple[str | Arg, ...]) -> None:
        self.parts = tuple(parts)
        self.arg = next((p.name for p in self.parts if isinstance(p, Arg)), None)

    def render(self, words: Words = None) -> str:
        """The text with each argument worded by ``words``; default: the library's names.

        ``words`` is a function of an :class:`Arg` (see :func:`flag_words`) or a mapping
        of argument names to flags.
        """
        if words is None:
            words = library_word
        elif isinstance(words, Mapping):
            words = flag_words(words)
        return "".join(words(p) if isinstance(p, Arg) else str(p) for p in self.parts)

    def __str__(self) -> str:
        return self.render()


class Message(Worded):
    """A note for the caller (not an error), worded like :class:`InputError`."""

    def __init__(self, *parts: str | Arg):
        self._set_parts(parts)

    def __repr__(self) -> str:
        return f"Message({self.render()!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and self.parts == other.parts

    def __hash__(self) -> int:
        return hash(self.parts)


class InputError(Worded, ValueError):
    """Bad input, one line, naming the argument it is about (``arg``).

    ``InputError(Arg("design"), " must be one of grid, lhs")`` reads ``design must be one
    of grid, lhs`` in Python and ``--design must be one of grid, lhs`` at the command line.
    """

    def __init__(self, *parts: str | Arg):
        self._set_parts(parts)
        super().__init__(self.render())


class InputErrors(ValueError):
    """Several :class:`InputError` found together, reported at once (a line each).

    ``errors`` keeps each one, so a command line can word each with its flags.
    """

    def __init__(self, errors: list[InputError]):
        self.errors = list(errors)
        super().__init__("\n".join(e.render() for e in self.errors))

    @staticmethod
    def raise_if(errors: list[InputError]) -> None:
        """Raise nothing for no error, the error itself for one, else :class:`InputErrors`."""
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise InputErrors(errors)


__all__ = ["Arg", "InputError", "InputErrors", "Message", "Worded", "flag_words",
           "library_word"]
