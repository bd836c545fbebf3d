"""The package's shape: imports run downwards only (no import cycle), and the layer order.

The graph is read from the source (every ``import`` statement, at module level or inside a
function: a lazy import is still a dependency).  ``chainrule/__init__.py``, the public re-export
hub, is left out: everything may import it, and it imports everything.
"""
from __future__ import annotations

import ast
import pathlib

import chainrule

ROOT = pathlib.Path(chainrule.__file__).parent


def _module_name(path):
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules():
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _resolve(mod, is_pkg, node, known):
    """The chainrule modules an import statement in ``mod`` depends on."""
    out = []
    if isinstance(node, ast.Import):
        for a in node.names:
            if a.name.startswith("chainrule"):
                out.append(a.name)
        return out
    base = mod.split(".")
    if node.level:
        base = base if is_pkg else base[:-1]
        base = base[:len(base) - (node.level - 1)]
        target = ".".join(base + ([node.module] if node.module else []))
    else:
        target = node.module or ""
    if not target.startswith("chainrule"):
        return out
    for a in node.names:
        sub = f"{target}.{a.name}"
        out.append(sub if sub in known else target)
    return out


def import_graph():
    mods = _modules()
    graph = {}
    for name, path in mods.items():
        if name == "chainrule":
            continue
        tree = ast.parse(path.read_text())
        deps = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for d in _resolve(name, path.name == "__init__.py", node, mods):
                    while d not in mods and "." in d:
                        d = d.rsplit(".", 1)[0]
                    if d != name and d != "chainrule":
                        deps.add(d)
        graph[name] = deps
    return graph


def cycles(graph):
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_cycle_inside_the_package():
    found = cycles(import_graph())
    assert found == [], "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


# the layers, bottom first: a module may import its own layer and the ones below it
LAYERS = [
    {"chainrule.dtypes", "chainrule.graph", "chainrule.random", "chainrule.utils.io",
     "chainrule.utils.hooks", "chainrule.devices", "chainrule.compat", "chainrule.cuda",
     "chainrule.accelerator", "chainrule.backends"},
    {"chainrule.tensor"},
    {"chainrule.autograd", "chainrule.ops", "chainrule.creation", "chainrule.serialization",
     "chainrule.torchfile", "chainrule.legacy", "chainrule.linalg"},
    {"chainrule.nn", "chainrule.optim", "chainrule.utils", "chainrule.datasets",
     "chainrule.classic", "chainrule.models", "chainrule.distributed"},
    {"chainrule.compiler"},
    {"chainrule.train", "chainrule.debug", "chainrule.viz", "chainrule.runs", "chainrule.onnx",
     "chainrule.utils.tensorboard"},
    {"chainrule.sklearn"},
    {"chainrule.cli", "chainrule.cli_train", "chainrule.cli_inputs",
     "chainrule.distributed.launch"},
]


def _layer(mod):
    """The layer of the longest entry that names ``mod`` or a package above it."""
    best = None
    for i, group in enumerate(LAYERS):
        for g in group:
            if (mod == g or mod.startswith(g + ".")) and (best is None or len(g) > best[0]):
                best = (len(g), i)
    return None if best is None else best[1]


def test_imports_run_downwards():
    bad = []
    for mod, deps in import_graph().items():
        lm = _layer(mod)
        if lm is None:
            continue
        for d in deps:
            ld = _layer(d)
            if ld is not None and ld > lm:
                bad.append(f"{mod} (layer {lm}) imports {d} (layer {ld})")
    assert bad == [], "\n".join(sorted(bad))


def test_the_checker_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
