"""The grader's code in the child as it was before student code ran: ``take`` a snapshot, find and undo ``changes``.

Student code runs in the worker's interpreter, so it can reach the grader's modules, functions,
classes and rubric objects (through ``sys.modules``, ``gc`` or function attributes) and rebind or
patch them: a probe swapped for one that reports the reference's facts, a ``__code__`` replaced,
``builtins.isinstance`` redefined. ``take`` records, before the student's module is imported:

- every module under ``grader`` (and the worker's own namespace): each entry of its namespace,
  and, through everything reachable from there that the grader defines (classes, functions,
  rubric objects such as checks and probes, containers), each function's code, defaults and
  closure, each class's namespace and bases, each object's class, ``__dict__`` and attributes;
- the library objects the grader's code names: ``builtins`` and the namespaces of the library
  modules the grader imports, the entries whose names appear in the grader's code, the classes
  among them and their bases, and the code of the library functions among them.

``changes`` compares the live objects with the snapshot by identity, puts back every original it
holds, and names what differed. It reads nothing through a name student code could rebind (no
globals, the built-ins it needs bound as defaults), so the worker calls it through a function
made afresh from the code it captured before the import.

What this cannot see: a change made and undone within one probe (by student code that the probe
calls, or by a thread of the student's), objects reached through ``gc`` that the snapshot itself
holds, ``ctypes`` and frame tricks, and a student's code that writes to the results channel
itself. Library internals beyond the named entries are not compared either.
"""

from __future__ import annotations

import builtins
import functools
import sys
import types
from typing import Any

MISSING = object()  # the value recorded for an entry that did not exist
RUNTIME_STATE = {("grader.probes", "_MEMO")}  # module-level containers the grader itself fills while it runs
IMMUTABLE_TYPE = 1 << 8  # Py_TPFLAGS_IMMUTABLETYPE: a class whose namespace nothing can change
ATOMS = (str, bytes, int, float, complex, bool, type(None), type(Ellipsis), range, slice, types.CodeType)

CLASS_OF = object.__dict__["__class__"]  # reads the real class of any object, whatever it claims
FUNCTION_ATTRS = tuple(types.FunctionType.__dict__[name] for name in ("__code__", "__defaults__", "__kwdefaults__"))
CELL = types.CellType.__dict__["cell_contents"]
BASES = type.__dict__["__bases__"]


def _is_grader(name: Any) -> bool:
    return isinstance(name, str) and (name == "grader" or name.startswith("grader."))


def _rebound_by_library(owner: Any, key: str) -> bool:
    """An entry a library rebinds itself as it runs: ``torch.manual_seed``, which torch wraps when it first
    imports its compiler, and an optimizer class's ``step``, which torch wraps when the first one is made."""
    if owner == "torch":
        return key == "manual_seed"
    optim = sys.modules.get("torch.optim")
    return key == "step" and isinstance(owner, type) and optim is not None and issubclass(owner, optim.Optimizer)


def _names(code: types.CodeType, into: set[str]) -> None:
    """Every global and attribute name a code object (and the code nested in it) looks up."""
    into.update(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _names(const, into)


class _Snapshot:
    """Walks the grader's objects once, building the records ``changes`` reads."""

    def __init__(self):
        self.records: list[tuple] = []
        self.seen: set[int] = set()
        self.names: set[str] = set()
        self.modules: dict[str, types.ModuleType] = {}
        self.libraries: dict[str, types.ModuleType] = {}
        self.library_classes: dict[int, type] = {}
        self.library_functions: dict[int, tuple[str, types.FunctionType]] = {}
        self.keep: list[Any] = []  # everything whose id() is in ``seen`` stays alive, so no id is reused

    def _first(self, obj: Any) -> bool:
        if id(obj) in self.seen:
            return False
        self.seen.add(id(obj))
        self.keep.append(obj)
        return True

    # --- the grader's own objects: everything compared ------------------------------------------

    def module(self, name: str, namespace: dict) -> None:
        if not self._first(namespace):
            return
        if isinstance(sys.modules.get(name), types.ModuleType) and vars(sys.modules[name]) is namespace:
            self.modules[name] = sys.modules[name]
        keys = frozenset(namespace)
        self.records.append(("dict", name, namespace, tuple(namespace.items()), keys, f"{name}."))
        for key, value in list(namespace.items()):
            if key == "__builtins__" or (name, key) in RUNTIME_STATE:
                continue
            if isinstance(value, types.ModuleType) and getattr(value, "__name__", None) == f"{name}.{key}":
                continue  # a package's submodule: walked where something uses it
            self.value(value, f"{name}.{key}")

    def value(self, obj: Any, label: str) -> None:
        kind = type(obj)
        if kind in ATOMS or obj is sys.modules or obj is vars(builtins) or not self._first(obj):
            return  # sys.modules and the built-ins are compared by the names the grader uses (``library``)
        if isinstance(obj, types.ModuleType):
            self.seen.discard(id(obj))
            name = getattr(obj, "__name__", None)
            if _is_grader(name):
                self.module(name, vars(obj))
            elif isinstance(name, str):
                self.libraries.setdefault(name, obj)
        elif kind is types.FunctionType:
            self.function(obj, label)
        elif isinstance(obj, type):
            if _is_grader(obj.__dict__.get("__module__")):
                self.grader_class(obj, label)
            else:
                self.library_class(obj)
        elif kind in (staticmethod, classmethod, types.MethodType):
            self.value(obj.__func__, label)
        elif kind is property:
            for part in (obj.fget, obj.fset, obj.fdel):
                self.value(part, label)
        elif kind is functools.cached_property:
            self.value(obj.func, label)
        elif kind is functools.partial:
            self.value(obj.func, label)
            self.value(obj.args, label)
        elif kind is dict:
            self.records.append(("dict", label, obj, tuple(obj.items()), frozenset(obj), None))
            for key, item in list(obj.items()):
                self.value(key, label)
                self.value(item, f"{label}[{key!r}]")
        elif kind is list:
            self.records.append(("list", label, obj, tuple(obj)))
            for i, item in enumerate(obj):
                self.value(item, f"{label}[{i}]")
        elif kind is set:
            self.records.append(("set", label, obj, frozenset(obj)))
            for item in obj:
                self.value(item, label)
        elif kind in (tuple, frozenset):
            for i, item in enumerate(obj):
                self.value(item, f"{label}[{i}]")
        elif hasattr(obj, "__wrapped__") and callable(obj) and not _is_grader(type(obj).__module__):
            self.value(obj.__wrapped__, label)  # functools.lru_cache and other wrappers around grader functions
        elif _is_grader(type(obj).__module__):
            self.instance(obj, label)

    def function(self, fn: types.FunctionType, label: str) -> None:
        for attr in FUNCTION_ATTRS:
            self.records.append(("attr", f"{label}.{attr.__name__}", fn, attr, attr.__get__(fn)))
        _names(fn.__code__, self.names)
        home = fn.__globals__.get("__name__")
        if _is_grader(home) and sys.modules.get(home) is not None:
            self.value(sys.modules[home], label)  # the namespace its global names are read from
        for cell in fn.__closure__ or ():
            try:
                contents = CELL.__get__(cell)
            except ValueError:
                contents = MISSING
            self.records.append(("cell", f"{label} (a variable it closes over)", cell, CELL, contents))
            self.value(contents, label)
        self.value(fn.__defaults__, label)
        self.value(fn.__kwdefaults__, label)

    def grader_class(self, cls: type, label: str) -> None:
        self.class_namespace(cls, label, tuple(cls.__dict__.items()))
        home = cls.__dict__.get("__module__")
        if sys.modules.get(home) is not None:
            self.value(sys.modules[home], label)
        for key, value in list(cls.__dict__.items()):
            self.value(value, f"{label}.{key}")
        for base in cls.__mro__[1:]:
            self.value(base, f"{label} (a base class)")

    def class_namespace(self, cls: type, label: str, items: tuple, strict: bool = True) -> None:
        """A class's namespace entries ``items``, its bases and its own class; with ``strict``, no added entries."""
        if cls.__flags__ & IMMUTABLE_TYPE:
            return
        self.records.append(("class", label, cls, cls.__dict__, items, frozenset(cls.__dict__) if strict else None))
        self.records.append(("attr", f"{label}.__bases__", cls, BASES, BASES.__get__(cls)))
        self.records.append(("attr", f"{label}.__class__", cls, CLASS_OF, CLASS_OF.__get__(cls)))

    def instance(self, obj: Any, label: str) -> None:
        self.records.append(("attr", f"{label}.__class__", obj, CLASS_OF, CLASS_OF.__get__(obj)))
        cls = CLASS_OF.__get__(obj)
        for klass in cls.__mro__:
            slot = klass.__dict__.get("__dict__")
            if isinstance(slot, types.GetSetDescriptorType):
                namespace = slot.__get__(obj)
                self.records.append(("attr", f"{label}.__dict__", obj, slot, namespace))
                if self._first(namespace):
                    self.records.append(("dict", label, namespace, tuple(namespace.items()), frozenset(namespace),
                                         f"{label}."))
                    for key, value in list(namespace.items()):
                        self.value(value, f"{label}.{key}")
                break
        for klass in cls.__mro__:
            for name in klass.__dict__.get("__slots__", ()):
                member = klass.__dict__.get(name)
                if isinstance(member, types.MemberDescriptorType):
                    try:
                        current = member.__get__(obj)
                    except AttributeError:
                        current = MISSING
                    self.records.append(("slot", f"{label}.{name}", obj, member, current))
                    self.value(current, f"{label}.{name}")

    # --- library objects: the entries the grader's code names ----------------------------------

    def library_class(self, cls: type) -> None:
        self.library_classes.setdefault(id(cls), cls)

    def library(self) -> None:
        """Builtins, the library modules the grader imports, and the classes and functions they hold."""
        for name in list(self.names):  # modules the grader imports inside its functions
            if "." in name and name in sys.modules and not _is_grader(name):
                self.libraries.setdefault(name, sys.modules[name])
        self.libraries["builtins"] = builtins
        for name, module in sorted(self.libraries.items()):
            if name == "sys" or not isinstance(module, types.ModuleType):
                continue  # sys holds what programs legitimately rebind (stdout, path, argv...)
            namespace = vars(module)
            items = tuple((k, v) for k, v in namespace.items() if k in self.names and not _rebound_by_library(name, k))
            self.records.append(("dict", name, namespace, items, None, f"{name}."))
            for key, value in items:
                if isinstance(value, type):
                    self.library_class(value)
                elif type(value) is types.FunctionType:
                    self.library_functions.setdefault(id(value), (f"{name}.{key}", value))
        classes = {}
        for cls in list(self.library_classes.values()):
            for klass in cls.__mro__:
                classes.setdefault(id(klass), klass)
        for cls in classes.values():
            label = f"{cls.__module__}.{cls.__qualname__}"
            items = tuple((k, v) for k, v in cls.__dict__.items()
                          if k in self.names and not _rebound_by_library(cls, k))
            self.class_namespace(cls, label, items, strict=False)
            for key, value in items:
                for fn in _functions_in(value):
                    self.library_functions.setdefault(id(fn), (f"{label}.{key}", fn))
        for label, fn in self.library_functions.values():
            for attr in FUNCTION_ATTRS:
                self.records.append(("attr", f"{label}.{attr.__name__}", fn, attr, attr.__get__(fn)))


def _functions_in(value: Any) -> list[types.FunctionType]:
    """The Python functions behind a class namespace entry (a method, a static or class method, a property)."""
    if type(value) is types.FunctionType:
        return [value]
    if type(value) in (staticmethod, classmethod):
        return _functions_in(value.__func__)
    if type(value) is property:
        return [f for part in (value.fget, value.fset, value.fdel) for f in _functions_in(part)]
    return []


def take(roots: dict[str, Any]) -> tuple:
    """The snapshot of ``roots`` (label -> a module's namespace dict, or any object) and what they use.

    From the roots it follows every grader module, function, class and object they reach, and
    the library objects named in that code. Take it before any student code runs; pass the
    result to ``changes``.
    """
    snapshot = _Snapshot()
    for label, root in roots.items():
        if type(root) is dict and "__name__" in root:
            snapshot.module(label, root)
        else:
            snapshot.value(root, label)
    for name in sorted(snapshot.names):  # grader modules imported by name inside functions
        if _is_grader(name) and isinstance(sys.modules.get(name), types.ModuleType):
            snapshot.value(sys.modules[name], name)
    snapshot.library()
    tracked = tuple((name, m) for name, m in sorted({**snapshot.modules, **snapshot.libraries}.items())
                    if sys.modules.get(name) is m)
    snapshot.records.append(("dict", "sys.modules", sys.modules, tracked, None, None))
    return tuple(snapshot.records), tuple(snapshot.keep)


def changes(snapshot: tuple, _len=len, _type_setattr=type.__setattr__, _type_delattr=type.__delattr__,
            _class_of=CLASS_OF.__get__, _str=str, _modules=sys.modules, _missing=MISSING) -> tuple:
    """What differs from ``snapshot`` (as labels such as ``grader.probes.describe_figure``), each put back.

    Uses no global name and no built-in but those bound as defaults: student code may have
    rebound any of them.
    """
    changed = []
    records, _ = snapshot
    for record in records:
        kind, label = record[0], record[1]
        try:
            if kind == "dict":
                _, label, live, items, keys, prefix = record
                for key, value in items:
                    if live.get(key, _missing) is not value:
                        changed.append(f"{prefix}{key}" if prefix else f"{label}[{key!r}]")
                        live[key] = value
                if keys is not None:
                    for key in live.keys() - keys:
                        named = _class_of(key) is _str
                        if named and prefix and _modules.get(prefix + key) is live[key]:
                            continue  # a submodule imported since: the package's new attribute
                        if named and prefix and key == "__warningregistry__":
                            continue  # where the warnings machinery notes a warning the module's code raised
                        changed.append(f"{prefix if prefix else label + ': '}{key if named else 'an entry'} (added)")
                        del live[key]
            elif kind == "class":
                _, label, cls, namespace, items, keys = record
                for key, value in items:
                    if namespace.get(key, _missing) is not value:
                        changed.append(f"{label}.{key}")
                        if value is _missing:
                            _type_delattr(cls, key)
                        else:
                            _type_setattr(cls, key, value)
                if keys is not None:
                    for key in namespace.keys() - keys:
                        changed.append(f"{label}.{key if _class_of(key) is _str else 'an entry'} (added)")
                        _type_delattr(cls, key)
            elif kind == "list":
                _, label, live, items = record
                same = _len(live) == _len(items)
                index = 0
                for value in items:
                    if not same or live[index] is not value:
                        same = False
                        break
                    index += 1
                if not same:
                    changed.append(label)
                    live[:] = items
            elif kind == "set":
                _, label, live, items = record
                if live != items:
                    changed.append(label)
                    live.clear()
                    live.update(items)
            else:  # "attr", "cell", "slot": a value read and written through the type's own descriptor
                _, label, obj, descriptor, value = record
                try:
                    current = descriptor.__get__(obj, None)
                except:  # noqa: E722  (an emptied cell or slot; no exception class is looked up by name)
                    current = _missing
                if current is not value:
                    changed.append(label)
                    if value is _missing:
                        descriptor.__delete__(obj)
                    else:
                        descriptor.__set__(obj, value)
        except:  # noqa: E722  (whatever the student left there, the change is reported)
            changed.append(f"{label} (could not be put back)")
    return tuple(changed)
