"""A rule's input files given as a nested structure (mappings of mappings, down to one path or a
list of paths), passed to its script without encoding the structure in strings.

Snakemake names inputs with flat string keys. The workflow declares the files once as a tree;
:func:`flat_inputs` gives the rule its named inputs, :func:`input_names` the same tree with each
path replaced by its input name (a ``params`` entry), and the script rebuilds the tree of paths
with :func:`resolve_names` from the job's inputs. No code reads meaning out of a name: a name is
only a unique label (the tree's keys joined by ``.``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

#: Joins the keys of a leaf's position into its input name.
SEPARATOR = "."


def _leaves(tree: Any, position: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """``(position, leaf)`` for every leaf: a ``str`` path, or a list/tuple of ``str`` paths."""
    if isinstance(tree, Mapping):
        if not tree and position:
            raise ValueError(f"named files: empty mapping at {SEPARATOR.join(position)!r}")
        for key, sub in tree.items():
            if not isinstance(key, str) or not key:
                raise ValueError(f"named files: key {key!r} under {position} is not a name")
            yield from _leaves(sub, (*position, key))
        return
    if isinstance(tree, str) or (
        isinstance(tree, Sequence) and all(isinstance(path, str) for path in tree)
    ):
        if not position:
            raise ValueError("named files: the tree must be a mapping")
        yield position, tree
        return
    raise ValueError(
        f"named files: {SEPARATOR.join(position)!r} holds {type(tree).__name__}, "
        "expected a mapping, a path or a list of paths"
    )


def flat_inputs(tree: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """The tree's leaves as ``{name: path or list of paths}`` (for ``unpack`` in ``input:``);
    two positions that give the same name raise ``ValueError``."""
    named: dict[str, str | list[str]] = {}
    for position, leaf in _leaves(tree):
        name = SEPARATOR.join(position)
        if name in named:
            raise ValueError(f"named files: two entries are named {name!r}")
        named[name] = leaf if isinstance(leaf, str) else list(leaf)
    return named


def input_names(tree: Mapping[str, Any]) -> dict[str, Any]:
    """The same tree with each leaf replaced by its input name in :func:`flat_inputs`."""
    flat_inputs(tree)  # the same checks (shape, unique names)
    return _replace(tree, ())


def _replace(tree: Any, position: tuple[str, ...]) -> Any:
    if isinstance(tree, Mapping):
        return {key: _replace(sub, (*position, key)) for key, sub in tree.items()}
    return SEPARATOR.join(position)


def resolve_names(names: Mapping[str, Any], inputs: Any) -> dict[str, Any]:
    """The tree of :func:`input_names` with each name replaced by ``inputs[name]`` (the job's
    named inputs, e.g. ``snakemake.input``): a ``str`` path, or a list of ``str`` for a list. A
    name missing from ``inputs`` raises ``KeyError`` naming it."""

    def resolve(node: Any) -> Any:
        if isinstance(node, Mapping):
            return {key: resolve(sub) for key, sub in node.items()}
        try:
            value = inputs[node]
        except (KeyError, AttributeError) as exc:
            raise KeyError(f"named files: the job has no input named {node!r}") from exc
        return str(value) if isinstance(value, str) else [str(path) for path in value]

    return resolve(names)


__all__ = ["SEPARATOR", "flat_inputs", "input_names", "resolve_names"]
