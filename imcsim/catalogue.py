"""`imcsim list`: what ships with imcsim, one line each: the reference designs (by name,
with their design kind and description), the networks (the built-in zoo and the shipped
graph files) and the sweep specs. Every name works where a path is expected."""

from __future__ import annotations

from typing import Any

from imcsim import shipped

SECTIONS = ("designs", "networks", "sweeps")


def _first_line(text: str | None) -> str:
    return (text or "").strip().splitlines()[0] if (text or "").strip() else ""


def _designs() -> list[dict[str, Any]]:
    rows = []
    for name, path in shipped.designs().items():
        kind, description = shipped.describe(path)
        rows.append({"name": name, "kind": kind, "description": description,
                     "file": str(path)})
    return rows


def _networks() -> list[dict[str, Any]]:
    from imcsim.workload.zoo import ZOO

    rows = [{"name": name, "source": "built-in (synthetic weights, seeded)",
             "description": _first_line(factory.__doc__)} for name, factory in ZOO.items()]
    rows += [{"name": name, "source": str(path), "description": "shipped graph file"}
             for name, path in shipped.networks().items()]
    return rows


def _sweeps() -> list[dict[str, Any]]:
    rows = []
    for name, path in shipped.sweeps().items():
        lines = path.read_text(encoding="utf-8").splitlines()
        comment = next((ln.lstrip("# ").strip() for ln in lines if ln.startswith("#")), "")
        rows.append({"name": name, "description": comment, "file": str(path)})
    return rows


def catalogue(what: str = "all") -> dict[str, list[dict[str, Any]]]:
    """{"designs": [...], "networks": [...], "sweeps": [...]} (or just the one asked)."""
    build = {"designs": _designs, "networks": _networks, "sweeps": _sweeps}
    return {name: build[name]() for name in SECTIONS if what in ("all", name)}


def catalogue_text(doc: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for section, rows in doc.items():
        lines.append(f"{section}:")
        width = max((len(r["name"]) for r in rows), default=0)
        for r in rows:
            kind = f"[{r['kind']}] " if r.get("kind") else ""
            lines.append(f"  {r['name']:<{width}}  {kind}{r['description']}")
        lines.append("")
    return "\n".join(lines).rstrip()
